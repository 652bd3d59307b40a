"""What comes back after a send: bounces and complaints read from the bounce mailbox or reported by
a webhook, auto-replies, and unsubscribes from an issue's links, per subscriber and issue."""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("subscriber_id", sa.Integer, sa.ForeignKey("subscribers.id"), index=True),
        sa.Column("issue_id", sa.Integer, sa.ForeignKey("issues.id"), index=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default=""),
        sa.Column("diagnostic", sa.Text, nullable=False, server_default=""),
        sa.Column("via", sa.String(16), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ref", sa.String(255), unique=True),
    )


def downgrade() -> None:
    op.drop_table("feedback")
