"""The unsent rows of an issue in id order, as senders claim them: a partial index.

Without it PostgreSQL planned each claim of a freshly enqueued 1,000,000-row ledger as a scan of
every row (its statistics not yet knowing the new rows).
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    unsent = sa.text("state IN ('pending', 'deferred')")
    op.create_index(
        "ix_deliveries_unsent",
        "deliveries",
        ["issue_id", "id"],
        postgresql_where=unsent,
        sqlite_where=unsent,
    )


def downgrade() -> None:
    op.drop_index("ix_deliveries_unsent", table_name="deliveries")
