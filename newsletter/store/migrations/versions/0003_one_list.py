"""The list as one truth: how each subscriber came in and their consent, pending signups, forgotten
addresses kept only as keyed hashes, the signup requests (to limit them), and the database's own
facts (its identity, the key of those hashes)."""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    with op.batch_alter_table("subscribers") as batch:
        # csv | import | add | form | link (an address first seen unsubscribing) ; before 0003: csv
        batch.add_column(sa.Column("source", sa.String(16), nullable=False, server_default="csv"))
        batch.add_column(sa.Column("asked_at", sa.DateTime(timezone=True)))  # the signup form's request
        batch.add_column(sa.Column("confirmed_at", sa.DateTime(timezone=True)))  # its confirmation
    op.create_table(
        "forgotten",
        sa.Column("hash", sa.String(64), primary_key=True),  # HMAC-SHA256 of the address, meta's key
        sa.Column("forgotten_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "signup_requests",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("address", sa.String(64), nullable=False, index=True),  # keyed hash
        sa.Column("client", sa.String(64), nullable=False, index=True),  # keyed hash of the IP
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("mailed", sa.Boolean, nullable=False),
    )
    op.create_table(
        "meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("meta")
    op.drop_table("signup_requests")
    op.drop_table("forgotten")
    with op.batch_alter_table("subscribers") as batch:
        batch.drop_column("confirmed_at")
        batch.drop_column("asked_at")
        batch.drop_column("source")
