"""The editor's word on each automatic send: the preflight email, holds and releases."""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    op.create_table(
        "preflights",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("period_key", sa.String(32), nullable=False, unique=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("mailed_at", sa.DateTime(timezone=True)),
        sa.Column("state", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("send_now", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("changed_at", sa.DateTime(timezone=True)),
        sa.Column("changed_by", sa.String(64), nullable=False, server_default=""),
        sa.Column("reminded_at", sa.DateTime(timezone=True)),
    )


def downgrade() -> None:
    op.drop_table("preflights")
