"""Feed health and roll-overs: each source's last good read, its counts, when it last gave something
new and what the editors were last told of it; an issue's roll-over (too few items: not sent)."""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    op.add_column("feed_state", sa.Column("last_success_at", sa.DateTime(timezone=True)))
    op.add_column("feed_state", sa.Column("last_new_at", sa.DateTime(timezone=True)))
    op.add_column("feed_state", sa.Column("entries", sa.Integer, nullable=False, server_default="0"))
    op.add_column("feed_state", sa.Column("new_items", sa.Integer, nullable=False, server_default="0"))
    op.add_column("feed_state", sa.Column("alerted", sa.String(16), nullable=False, server_default=""))
    op.add_column("issues", sa.Column("rolled_over", sa.Text, nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("issues") as batch:
        batch.drop_column("rolled_over")
    with op.batch_alter_table("feed_state") as batch:
        for column in ("alerted", "new_items", "entries", "last_new_at", "last_success_at"):
            batch.drop_column(column)
