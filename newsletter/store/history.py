"""What this configuration has sent, remembered outside the database, so that a lost database is
noticed instead of silently replaced by an empty one (which would send the week again to everyone,
including those who left).

A small JSON file beside the config (``.newsletter-history``) names the database an issue was sent
from (its identity, kept in the database's ``meta`` table) and the last issue. Opening a database
that is new (no tables, or a SQLite file that does not exist) while that file says issues were sent
is refused, before anything is created.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, select

from newsletter.errors import StoreError
from newsletter.store.database import insert_ignoring_duplicates, now
from newsletter.store.schema import meta

FILE = ".newsletter-history"


class LostDatabase(StoreError):
    """The configuration sent issues from a database that is now empty or missing."""


def database_id(conn: Connection) -> str:
    """The database's identity, made once."""
    found = conn.execute(select(meta.c.value).where(meta.c.key == "database_id")).scalar()
    if found:
        return str(found)
    conn.execute(insert_ignoring_duplicates(conn, meta).values(key="database_id", value=str(uuid.uuid4())))
    return str(conn.execute(select(meta.c.value).where(meta.c.key == "database_id")).scalar_one())


def read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}  # unreadable: treat as a history we cannot check, never as none
    return data if isinstance(data, dict) else {}


def refuse_if_lost(path: Path, url: str) -> None:
    """Raise LostDatabase when the database at ``url`` is new but ``path`` says issues were sent."""
    history = read(path)
    if history is None:
        return
    issue = history.get("last_issue", "an issue")
    when = history.get("at", "")
    raise LostDatabase(
        f"the database is new (or missing), but {issue} was sent from this configuration's database "
        f"{('on ' + when[:16].replace('T', ' ')) if when else ''}: refusing to start an empty list that "
        "would send again to everyone, including those who unsubscribed",
        hint=(
            "restore the database from a backup (`newsletter backup` copies, or pg_dump) and run again; "
            f"to start over on purpose, delete {path}"
        ),
    )


def remember(path: Path, engine: Engine, period_key: str) -> None:
    """Record that ``period_key`` went out from this database (written atomically)."""
    with engine.begin() as conn:
        identity = database_id(conn)
    data = {"database_id": identity, "last_issue": f"issue {period_key}", "at": now().isoformat()}
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    os.replace(temporary, path)
