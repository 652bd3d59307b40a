"""Opening the database, bringing its schema up to date, and what differs between SQLite and PostgreSQL.

SQLite (a file; WAL, one writer at a time) is the default; PostgreSQL 15+ through psycopg 3 is the
road to several sending machines. Every difference between the two lives in this package.

The schema is versioned with Alembic (migrations/versions/). Opening a database upgrades it in place:
a new one is built by the migrations, one made by the first release (tables, no version) is stamped
0001 and upgraded. The check costs one query when the schema is current; upgrades run under a lock
(PostgreSQL: an advisory lock; SQLite: BEGIN IMMEDIATE), so processes opening one database at the
same moment upgrade it once.
"""

from __future__ import annotations

import os
import weakref
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Insert, Table, create_engine, event, inspect, text
from sqlalchemy.exc import SQLAlchemyError

from newsletter.errors import StoreError

HEAD = "0007"  # the newest migration; a test checks it against migrations/versions/
MIGRATIONS = Path(__file__).parent / "migrations"


def now() -> datetime:
    return datetime.now(UTC)


def aware(value: datetime | None) -> datetime | None:
    """SQLite gives back naive datetimes (stored as UTC); PostgreSQL aware ones."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA busy_timeout=30000")  # first: a new file's switch to WAL may have to wait
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


_opened: weakref.WeakSet[Engine] = weakref.WeakSet()


def dispose_all() -> None:
    """Close every engine this process opened (the CLI, at the end of each command: a command run
    many times in one process, as the tests do, must not keep a pool per run)."""
    for engine in list(_opened):
        engine.dispose()


def open_engine(url: str, *, history: Path | None = None) -> Engine:
    """Open the database at ``url``, creating or upgrading its schema when needed.

    With ``history`` (the config's record of what it sent, see history.py), a new database is refused
    when that record says issues went out from one: before anything is created.
    """
    try:
        engine = create_engine(url, pool_pre_ping=not url.startswith("sqlite"))
        _opened.add(engine)
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
            _watch_the_file(engine)
        if history is not None and is_new(engine):
            from newsletter.store.history import refuse_if_lost

            refuse_if_lost(history, url)
        migrate(engine)
    except SQLAlchemyError as exc:
        known = _specific(exc, url)
        if known is not None:
            raise known from exc
        reason = getattr(exc, "orig", None) or exc
        raise StoreError(
            f"cannot open the database {_shown(url)}: {exc.__class__.__name__}: {reason}".strip(),
            hint="check [newsletter] database (or $NEWSLETTER_DATABASE): the folder of a SQLite file must "
            "exist and be writable; a PostgreSQL server must be running and the database created",
        ) from exc
    except ModuleNotFoundError as exc:
        raise StoreError(
            f"cannot open the database {_shown(url)}: the driver {exc.name!r} is not installed",
            hint="PostgreSQL URLs look like postgresql://user@host/dbname (psycopg 3 comes with newsletter)",
        ) from exc
    return engine


def is_new(engine: Engine) -> bool:
    """No schema yet: a SQLite file that does not exist (not created by asking), or no tables."""
    if engine.dialect.name == "sqlite":
        database = engine.url.database
        if database and database != ":memory:" and not Path(database).exists():
            return True
    with engine.connect() as conn:
        return not inspect(conn).has_table("issues")


def _watch_the_file(engine: Engine) -> None:
    """Refuse to go on writing to a SQLite file that was deleted or replaced while open: its
    writes would go to a file nobody will read again (a running `serve` answered unsubscribes so)."""
    database = engine.url.database
    if not database or database == ":memory:":
        return
    opened: dict[str, tuple[int, int]] = {}

    def check(_dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
        try:
            found = os.stat(database)
        except FileNotFoundError:
            found = None
        if found is None or opened.setdefault("file", (found.st_dev, found.st_ino)) != (
            found.st_dev,
            found.st_ino,
        ):
            raise StoreError(
                f"the database file {database} was deleted or replaced while newsletter had it open",
                hint="restore it from a backup, then restart this command (and `newsletter serve`)",
            )

    event.listen(engine, "checkout", check)


def _shown(url: str) -> str:
    """The URL without its password, for messages."""
    scheme, sep, rest = url.partition("://")
    if "@" in rest and ":" in rest.split("@", 1)[0]:
        rest = rest.split(":", 1)[0] + ":***@" + rest.split("@", 1)[1]
    return scheme + sep + rest


def explain(exc: SQLAlchemyError, url: str) -> StoreError:
    """A database error as one line naming the database and what to do (the transaction it broke
    was rolled back: nothing is half-written)."""
    known = _specific(exc, url)
    if known is not None:
        return known
    reason = " ".join(str(getattr(exc, "orig", None) or exc).split())
    return StoreError(
        f"the database {_shown(url)} failed: {exc.__class__.__name__}: {reason}",
        hint="check that the database server is running and reachable, then run again",
    )


def _folder(url: str) -> os.statvfs_result | None:
    """The filesystem holding a SQLite file (None for a server's database)."""
    if not url.startswith("sqlite:///"):
        return None
    try:
        return os.statvfs(os.path.dirname(os.path.abspath(url.removeprefix("sqlite:///"))) or ".")
    except OSError:
        return None


def _disk_is_full(url: str) -> bool:
    """SQLite reports a full disk as "disk I/O error" when it cannot grow its -shm file."""
    found = _folder(url)
    return found is not None and found.f_bavail * found.f_frsize < 1 << 20


def _read_only_disk(url: str) -> bool:
    """SQLite reports a read-only filesystem as "unable to open database file" (no -shm file)."""
    found = _folder(url)
    return found is not None and bool(found.f_flag & os.ST_RDONLY)


def _specific(exc: SQLAlchemyError, url: str) -> StoreError | None:
    """A locked, read-only or full database, said in one line; None for any other failure."""
    reason = " ".join(str(getattr(exc, "orig", None) or exc).split())
    lowered = reason.lower()
    where = _shown(url)
    if "locked" in lowered or "lock timeout" in lowered:
        return StoreError(
            f"the database {where} is locked by another process (waited 30 s): {reason}",
            hint="wait for the other command to finish (a send, a backup, a sqlite3 shell), then run again",
        )
    if (
        "readonly" in lowered
        or "read-only" in lowered
        or "permission denied" in lowered
        or ("unable to open" in lowered and _read_only_disk(url))
    ):
        return StoreError(
            f"the database {where} is read-only for this user: {reason}",
            hint="give this user write access to the file and its folder (SQLite writes a -wal file beside it)",
        )
    if "full" in lowered or "no space" in lowered or ("disk i/o" in lowered and _disk_is_full(url)):
        return StoreError(
            f"the disk holding the database {where} is full: {reason}",
            hint="free some space, then run again; nothing of the failed step was recorded",
        )
    return None


def revision(conn: Connection) -> str | None:
    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def migrate(engine: Engine) -> None:
    with engine.connect() as conn:
        current = revision(conn)
        conn.rollback()
    if current == HEAD:
        return
    with _schema_lock(engine) as conn:
        current = revision(conn)
        if current == HEAD:
            return
        if current is None and inspect(conn).has_table("issues"):
            current = "0001"  # made by the first release, before migrations
            _stamp(conn, current)
        _upgrade(conn)


def _stamp(conn: Connection, rev: str) -> None:
    conn.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)"))
    conn.execute(text("INSERT INTO alembic_version (version_num) VALUES (:rev)"), {"rev": rev})


def _upgrade(conn: Connection) -> None:
    # Alembic is imported only here: most commands open a current database and never need it.
    from alembic.config import Config
    from alembic.runtime.environment import EnvironmentContext
    from alembic.script import ScriptDirectory

    from newsletter.store.schema import metadata

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    script = ScriptDirectory.from_config(config)

    def steps(rev: Any, _context: Any) -> Any:
        return script._upgrade_revs("head", rev)

    with EnvironmentContext(config, script, fn=steps, destination_rev="head") as env:
        env.configure(connection=conn, target_metadata=metadata, render_as_batch=True)
        with env.begin_transaction():
            env.run_migrations()


@contextmanager
def _schema_lock(engine: Engine) -> Iterator[Connection]:
    """One connection in a transaction that no other process can upgrade alongside; committed at the end."""
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock_key("schema")})
            yield conn
            conn.commit()
            return
        if engine.dialect.name != "sqlite":
            yield conn
            conn.commit()
            return
        # pysqlite begins transactions itself, and not before DDL: take the write lock by hand
        # so a second process waits (busy_timeout) and then finds the schema current.
        raw = conn.connection.driver_connection
        assert raw is not None
        level = raw.isolation_level
        raw.isolation_level = None
        try:
            raw.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                raw.execute("ROLLBACK")
                raise
            raw.execute("COMMIT")
        finally:
            raw.isolation_level = level


def lock_key(name: str) -> int:
    """A stable key for a PostgreSQL advisory lock named ``name``: a signed 32-bit integer, so it
    fits both forms of the lock functions (one bigint, or two integers)."""
    return (zlib.crc32(f"newsletter:{name}".encode()) ^ 0x80000000) - 0x80000000


def insert_ignoring_duplicates(conn: Connection, table: Table) -> Insert:
    """INSERT that skips rows whose key already exists (another process added them first)."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).on_conflict_do_nothing()
    if conn.dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(table).on_conflict_do_nothing()
    raise StoreError(f"the {conn.dialect.name} database is not supported", hint="use SQLite or PostgreSQL")
