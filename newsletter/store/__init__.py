"""The database, split by the data each module owns.

    database     open_engine (creates or upgrades the schema), SQLite / PostgreSQL differences
    schema       the tables; migrations/ builds them (Alembic)
    issues       one issue per period: its draft, its state, its rendering as sent
    subscribers  the list and its suppressions
    ledger       one row per (issue, subscriber), and ``Ledger``, the send loop's one object
    feeds        what collection remembers between runs
    runs         what each send ended with, and the scheduler's job table
    locks        the send lock and what senders do in turn
    history      what the configuration sent, kept beside it: a lost database is noticed
    feedback     bounces, complaints, auto-replies and link unsubscribes after a send, and what they did
    journal      the suppression list kept beside the config too: a restored older database mails nobody who left
    preflights   the editor's word on each automatic send: held, released, skipped

SQLAlchemy Core, no ORM: the send loop runs thousands of small statements a second. Rows come back
as frozen dataclasses or named tuples, states as the enums of ``newsletter.models``.
"""

from newsletter.store import (
    feedback,
    feeds,
    history,
    issues,
    journal,
    ledger,
    locks,
    preflights,
    runs,
    subscribers,
)
from newsletter.store.database import now, open_engine
from newsletter.store.locks import SendBusy

__all__ = [
    "SendBusy",
    "feedback",
    "feeds",
    "history",
    "issues",
    "journal",
    "ledger",
    "locks",
    "now",
    "open_engine",
    "preflights",
    "runs",
    "subscribers",
]
