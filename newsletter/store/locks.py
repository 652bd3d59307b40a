"""What must run once at a time: the exclusive send, and the short steps every sender takes in turn.

SQLite lives on one machine: the send lock is an ``flock`` on a file beside the database, which the
operating system releases when the holder dies, even by SIGKILL. PostgreSQL may be shared by several
machines, so nothing goes through local files: the locks are advisory locks held by a database
session, released by the server when the holder's connection ends, whatever killed it.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, text

from newsletter.errors import StoreError
from newsletter.store.database import lock_key


class SendBusy(StoreError):
    """Another process holds the send lock (it is delivering the same issue)."""


def shares_senders(engine: Engine) -> bool:
    """Whether several ``send`` processes may deliver one issue together (PostgreSQL), or one at a time."""
    return engine.dialect.name == "postgresql"


@contextmanager
def send_lock(engine: Engine, *, exclusive: bool = True) -> Iterator[None]:
    """Hold the send lock; raise SendBusy when another process holds it.

    On PostgreSQL a non-exclusive sender takes no lock: it joins the others, each claiming its own
    rows of the ledger. On SQLite every send is exclusive.
    """
    if engine.dialect.name == "sqlite":
        with _file_lock(engine):
            yield
    elif engine.dialect.name == "postgresql" and exclusive:
        with _advisory_lock(engine, "send"):
            yield
    else:
        yield


@contextmanager
def one_at_a_time(engine: Engine, name: str) -> Iterator[None]:
    """Wait for, then hold, a lock that every process taking the same ``name`` takes in turn
    (PostgreSQL; on SQLite the send lock already makes senders take turns)."""
    if engine.dialect.name != "postgresql":
        yield
        return
    with _advisory_lock(engine, name, wait=True):
        yield


@contextmanager
def _advisory_lock(engine: Engine, name: str, *, wait: bool = False) -> Iterator[None]:
    """A session-level advisory lock, held on a connection of its own for as long as the block runs."""
    with engine.connect() as conn:
        take = "pg_advisory_lock" if wait else "pg_try_advisory_lock"
        got = conn.execute(text(f"SELECT {take}(:key)"), {"key": lock_key(name)}).scalar()
        conn.commit()
        if not wait and not got:
            raise SendBusy(
                "another send is running (a process holds the database's send lock)",
                hint="wait for it to finish; this send would resume the same issue",
            )
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": lock_key(name)})
            conn.commit()


@contextmanager
def _file_lock(engine: Engine) -> Iterator[None]:
    database = engine.url.database
    if not database or database == ":memory:":
        yield
        return
    path = database + ".send-lock"
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise SendBusy(
                f"another send is running ({holder})",
                hint="wait for it to finish; this send would resume the same issue",
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
