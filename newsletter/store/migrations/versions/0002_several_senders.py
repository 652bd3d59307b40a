"""Several senders: ledger leases, the senders' heartbeats, and a pause shared by every sender.

On PostgreSQL, a change of a subscriber's status also notifies the channel ``newsletter_list``: the
senders listen, and drop the rows they hold for an address that just left (SQLite senders read
``PRAGMA data_version`` for the same purpose).
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.add_column("deliveries", sa.Column("lease_owner", sa.String(96), nullable=False, server_default=""))
    op.add_column("deliveries", sa.Column("lease_until", sa.Float, nullable=False, server_default="0"))
    op.add_column("issues", sa.Column("errors_in_a_row", sa.Integer, nullable=False, server_default="0"))
    op.add_column("issues", sa.Column("pause_reason", sa.Text, nullable=False, server_default=""))
    op.create_table(
        "senders",
        sa.Column("id", sa.String(96), primary_key=True),
        sa.Column("issue_id", sa.Integer, nullable=False),
        sa.Column("started_at", sa.Float, nullable=False),
        sa.Column("seen_at", sa.Float, nullable=False),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION newsletter_list_changed() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN PERFORM pg_notify('newsletter_list', ''); RETURN NULL; END $$"
        )
        op.execute(
            "CREATE TRIGGER subscribers_status_changed AFTER UPDATE OF status OR DELETE "
            "ON subscribers FOR EACH STATEMENT EXECUTE FUNCTION newsletter_list_changed()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER subscribers_status_changed ON subscribers")
        op.execute("DROP FUNCTION newsletter_list_changed()")
    op.drop_table("senders")
    with op.batch_alter_table("issues") as batch:
        batch.drop_column("pause_reason")
        batch.drop_column("errors_in_a_row")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("lease_until")
        batch.drop_column("lease_owner")
