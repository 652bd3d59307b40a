"""A consistent copy of the database while sends and `serve` keep writing to it.

SQLite: the online backup API (``sqlite3.Connection.backup``) copies a consistent snapshot page by
page; WAL readers and the one writer go on meanwhile. PostgreSQL has its own tools (pg_dump), which
this defers to.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine

from newsletter.errors import StoreError

FOLDER = "backups"


def default_path(engine: Engine) -> Path:
    """``backups/<name>-<UTC time>.db`` beside the database."""
    database = Path(engine.url.database or "newsletter.db")
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return database.parent / FOLDER / f"{database.stem}-{stamp}{database.suffix or '.db'}"


def backup(engine: Engine, target: Path | None = None) -> Path:
    """Copy the database to ``target`` (default: ``default_path``); return where it went."""
    if engine.dialect.name != "sqlite":
        url = engine.url.set(drivername="postgresql").render_as_string(hide_password=True)
        raise StoreError(
            "on PostgreSQL, back up with the server's own tools",
            hint=f"pg_dump --format=custom --file=newsletter.dump '{url}'  (restore: pg_restore --clean)",
        )
    target = target or default_path(engine)
    if target.exists():
        raise StoreError(f"{target} exists already", hint="give another path, or move that file away")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    try:
        source = sqlite3.connect(str(engine.url.database), timeout=30)
        copy = sqlite3.connect(str(partial))
        try:
            source.backup(copy)
        finally:
            copy.close()
            source.close()
        partial.replace(target)  # a backup is whole or absent, never half-written
    except (sqlite3.Error, OSError) as exc:
        partial.unlink(missing_ok=True)
        raise StoreError(
            f"cannot back up {engine.url.database} to {target}: {exc}",
            hint="check that the folder is writable and has room",
        ) from exc
    return target


def prune(engine: Engine, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` backups in the default folder; return the ones deleted."""
    database = Path(engine.url.database or "newsletter.db")
    found = sorted((database.parent / FOLDER).glob(f"{database.stem}-*{database.suffix or '.db'}"))
    gone = found[:-keep] if keep > 0 else found
    for path in gone:
        path.unlink(missing_ok=True)
    return gone
