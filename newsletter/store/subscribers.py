"""The list: one row per address, its status, and the time and cause of its last change.

Only active subscribers get mail; an unsubscribed or bounced address stays on the list as a
suppression, so no import, CSV sync or backup adds it again. Every change of status is conditional
on the status read, so an unsubscribe landing during a sync is never overwritten.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from newsletter.errors import StoreError
from newsletter.models import SUPPRESSED, Subscriber, SubscriberStatus
from newsletter.store.database import aware, insert_ignoring_duplicates, now
from newsletter.store.feedback import erase as erase_feedback
from newsletter.store.schema import deliveries, forgotten, issues, meta, subscribers

ACTIVE = SubscriberStatus.ACTIVE


@dataclass(frozen=True, slots=True)
class SubscriberRow:
    id: int
    email: str
    name: str
    fields: dict[str, str]
    status: SubscriberStatus
    changed_at: datetime
    cause: str
    source: str = "csv"  # how they came in: csv, import, add, form, or unsubscribe (first seen leaving)
    asked_at: datetime | None = None  # the signup form: when they asked
    confirmed_at: datetime | None = None  # and when they confirmed


class WouldRemoveEveryone(StoreError):
    """A mirrored CSV without one good row would stop mail to every active subscriber."""

    def __init__(self, active: int) -> None:
        super().__init__(f"refusing to stop mail to all {active} active subscribers")
        self.active = active


def _row(row: Any) -> SubscriberRow:
    return SubscriberRow(
        id=row.id,
        email=row.email,
        name=row.name,
        fields=json.loads(row.fields or "{}"),
        status=SubscriberStatus(row.status),
        changed_at=aware(row.changed_at),  # type: ignore[arg-type]
        cause=row.cause,
        source=row.source,
        asked_at=aware(row.asked_at),
        confirmed_at=aware(row.confirmed_at),
    )


def get(engine: Engine, email: str) -> SubscriberRow | None:
    with engine.connect() as conn:
        row = conn.execute(select(subscribers).where(subscribers.c.email == email.lower())).first()
    return _row(row) if row else None


def iterate(engine: Engine, status: str | None = None, batch: int = 5000) -> Iterator[SubscriberRow]:
    """All subscribers (or those with ``status``) in id order, read in batches: a long list is never held whole."""
    return page(engine, status, batch=batch)


def page(
    engine: Engine,
    status: str | None = None,
    *,
    offset: int = 0,
    limit: int | None = None,
    batch: int = 5000,
) -> Iterator[SubscriberRow]:
    """Subscribers (or those with ``status``) in id order, after skipping ``offset`` of them, at most
    ``limit`` (None: all the rest); read in batches like ``iterate``, so no page is held whole."""
    s = subscribers
    where = [s.c.status == status] if status else []
    first = 0
    if offset > 0:
        with engine.connect() as conn:
            found = conn.execute(
                select(s.c.id).where(*where).order_by(s.c.id).offset(offset).limit(1)
            ).scalar()
        if found is None:
            return
        first = int(found)
    left = limit
    last = first - 1
    while left is None or left > 0:
        size = batch if left is None else min(batch, left)
        query = select(s).where(s.c.id > last, *where).order_by(s.c.id).limit(size)
        with engine.connect() as conn:
            rows = conn.execute(query).all()
        if not rows:
            return
        yield from (_row(row) for row in rows)
        last = rows[-1].id
        if left is not None:
            left -= len(rows)


def count(engine: Engine) -> dict[str, int]:
    """How many subscribers have each status."""
    with engine.connect() as conn:
        rows = conn.execute(select(subscribers.c.status, func.count()).group_by(subscribers.c.status)).all()
    return {status: n for status, n in rows}


def set_status(engine: Engine, email: str, status: SubscriberStatus | str, cause: str) -> bool:
    """Change a subscriber's status; False when the address is unknown."""
    with engine.begin() as conn:
        result = conn.execute(
            update(subscribers)
            .where(subscribers.c.email == email.lower())
            .values(status=status, cause=cause, changed_at=now())
        )
    return result.rowcount == 1


def _new(email: str, name: str, fields: str, status: str, cause: str, source: str) -> dict[str, Any]:
    return {
        "email": email,
        "name": name,
        "fields": fields,
        "status": status,
        "changed_at": now(),
        "cause": cause,
        "source": source,
    }


def unsubscribe(engine: Engine, email: str, cause: str) -> bool:
    """Put an address on the suppression list; True when this call changed it.

    An address the store does not know is added as unsubscribed, so no later import adds it.
    Repeating the call changes nothing (the first time and cause stay).
    """
    email, s = email.lower(), subscribers
    try:
        with engine.begin() as conn:
            result = conn.execute(
                update(s)
                .where(s.c.email == email, s.c.status != SubscriberStatus.UNSUBSCRIBED)
                .values(status=SubscriberStatus.UNSUBSCRIBED, cause=cause, changed_at=now())
            )
            if result.rowcount:
                return True
            if conn.execute(select(s.c.id).where(s.c.email == email)).first() is not None:
                return False
            if _is_forgotten(conn, email):
                return False  # erased at their request: the hash already keeps them out
            conn.execute(
                insert(s).values(_new(email, "", "{}", SubscriberStatus.UNSUBSCRIBED, cause, "unsubscribe"))
            )
            return True
    except IntegrityError:  # another request added the same address at the same instant
        return False


def resubscribe(engine: Engine, email: str, cause: str) -> bool:
    """Make an unsubscribed address active again; True when it was unsubscribed (bounced stays bounced)."""
    s = subscribers
    with engine.begin() as conn:
        result = conn.execute(
            update(s)
            .where(s.c.email == email.lower(), s.c.status == SubscriberStatus.UNSUBSCRIBED)
            .values(status=ACTIVE, cause=cause, changed_at=now())
        )
    return result.rowcount == 1


def add(
    engine: Engine, email: str, name: str, cause: str, *, resubscribe: bool
) -> tuple[str, SubscriberRow | None]:
    """Add or update one address; a suppressed one comes back only with ``resubscribe``.

    Returns what happened (added, updated, reactivated; suppressed or forgotten when refused) and
    the row as it was.
    """
    row = get(engine, email)
    s = subscribers
    with engine.begin() as conn:
        if row is None:
            if _is_forgotten(conn, email):
                return "forgotten", None
            conn.execute(insert(s).values(_new(email, name, "{}", ACTIVE, cause, "add")))
            return "added", None
        if row.status in SUPPRESSED and not resubscribe:
            return "suppressed", row
        values: dict[str, Any] = {"name": name} if name else {}
        if row.status != ACTIVE:
            why = "resubscribed by the operator" if row.status in SUPPRESSED else cause
            values.update(status=ACTIVE, changed_at=now(), cause=why)
        if values:
            conn.execute(update(s).where(s.c.id == row.id).values(**values))
    return ("updated" if row.status == ACTIVE else "reactivated"), row


def sync(
    engine: Engine,
    wanted: Mapping[str, Subscriber],
    left: Mapping[str, str],
    *,
    remove_missing: bool,
    source: str = "csv",
) -> dict[str, int]:
    """Bring the list in line with a CSV (``wanted``; ``left``: addresses it marks unsubscribed or bounced).

    New rows are added and names and fields updated; a suppressed address is never made active. With
    ``remove_missing``, active subscribers absent from the CSV stop receiving mail (status removed).
    Two processes syncing a new list at once can both read an address as new; the loser's
    transaction rolls back on the unique email and runs again against what the winner wrote.
    """
    for attempt in range(3):
        try:
            with engine.begin() as conn:
                return _sync(conn, wanted, left, remove_missing=remove_missing, source=source)
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _sync(
    conn: Connection,
    wanted: Mapping[str, Subscriber],
    left: Mapping[str, str],
    *,
    remove_missing: bool,
    source: str,
) -> dict[str, int]:
    counts = {"added": 0, "updated": 0, "suppressed": 0, "removed": 0, "reactivated": 0}
    s = subscribers
    existing = {row.email: row for row in conn.execute(select(s))}
    erased = _forgotten_hashes(conn)
    if erased:  # addresses erased on request stay out, whatever a file says
        key = _hash_key(conn)
        kept_out = {e for e in [*wanted, *left] if e not in existing and keyed_hash(key, e) in erased}
        wanted = {e: sub for e, sub in wanted.items() if e not in kept_out}
        left = {e: status for e, status in left.items() if e not in kept_out}
        counts["suppressed"] += len(kept_out)
    active = sum(1 for row in existing.values() if row.status == ACTIVE)
    if remove_missing and not wanted and active:
        raise WouldRemoveEveryone(active)
    for email, sub in wanted.items():
        row = existing.get(email)
        fields = json.dumps(sub.fields, ensure_ascii=False, sort_keys=True)
        if row is None:
            conn.execute(insert(s).values(_new(email, sub.name, fields, ACTIVE, "import", source)))
            counts["added"] += 1
        elif row.status in SUPPRESSED:
            counts["suppressed"] += 1
        elif row.status == SubscriberStatus.REMOVED:
            result = conn.execute(
                update(s)
                .where(s.c.id == row.id, s.c.status == SubscriberStatus.REMOVED)
                .values(
                    name=sub.name, fields=fields, status=ACTIVE, changed_at=now(), cause="back in the CSV"
                )
            )
            counts["reactivated"] += result.rowcount
        elif row.name != sub.name or row.fields != fields:
            conn.execute(update(s).where(s.c.id == row.id).values(name=sub.name, fields=fields))
            counts["updated"] += 1
    counts["suppressed"] += _record_left(conn, existing, left, source)
    if remove_missing:
        gone = [
            row.id
            for email, row in existing.items()
            if email not in wanted and email not in left and row.status == ACTIVE
        ]
        for chunk in range(0, len(gone), 500):
            conn.execute(
                update(s)
                .where(s.c.id.in_(gone[chunk : chunk + 500]), s.c.status == ACTIVE)
                .values(status=SubscriberStatus.REMOVED, cause="not in the CSV", changed_at=now())
            )
        counts["removed"] = len(gone)
    return counts


def _record_left(conn: Connection, existing: dict[str, Any], left: Mapping[str, str], source: str) -> int:
    """Addresses the CSV marks as gone join the suppression list (new ones too, so nobody adds them later)."""
    s = subscribers
    for email, status in left.items():
        cause = f"marked {status} in the imported CSV"
        row = existing.get(email)
        if row is None:
            conn.execute(insert(s).values(_new(email, "", "{}", status, cause, source)))
        elif row.status not in SUPPRESSED:
            conn.execute(
                update(s)
                .where(s.c.id == row.id, s.c.status.not_in(SUPPRESSED))
                .values(status=status, changed_at=now(), cause=cause)
            )
    return len(left)


# --- one person's data: show it, or forget it ----------------------------------------------


def keyed_hash(key: str, email: str) -> str:
    return hmac.new(key.encode(), email.lower().encode(), hashlib.sha256).hexdigest()


def _hash_key(conn: Connection) -> str:
    """The database's own key for address hashes, made once (a changed signing secret must not
    let a forgotten address back in)."""
    found = conn.execute(select(meta.c.value).where(meta.c.key == "hash_key")).scalar()
    if found:
        return str(found)
    conn.execute(insert_ignoring_duplicates(conn, meta).values(key="hash_key", value=secrets.token_hex(32)))
    return str(conn.execute(select(meta.c.value).where(meta.c.key == "hash_key")).scalar_one())


def _forgotten_hashes(conn: Connection) -> set[str]:
    return set(conn.execute(select(forgotten.c.hash)).scalars())


def _is_forgotten(conn: Connection, email: str) -> bool:
    if not conn.execute(select(func.count()).select_from(forgotten)).scalar():
        return False
    digest = keyed_hash(_hash_key(conn), email)
    return conn.execute(select(forgotten.c.hash).where(forgotten.c.hash == digest)).first() is not None


def is_forgotten(engine: Engine, email: str) -> bool:
    """Whether this address was erased on request (`subscribers forget`): it must not be added again."""
    with engine.begin() as conn:
        return _is_forgotten(conn, email)


def forget(engine: Engine, email: str) -> bool:
    """Erase everything stored about an address (its row, name, fields, ledger rows) and keep only a
    keyed hash, so that no way in adds it again. False when nothing was stored."""
    email = email.lower()
    with engine.begin() as conn:
        row = conn.execute(select(subscribers.c.id).where(subscribers.c.email == email)).first()
        if row is not None:
            erase_feedback(conn, row.id)
            conn.execute(delete(deliveries).where(deliveries.c.subscriber_id == row.id))
            conn.execute(delete(subscribers).where(subscribers.c.id == row.id))
        digest = keyed_hash(_hash_key(conn), email)
        if conn.execute(select(forgotten.c.hash).where(forgotten.c.hash == digest)).first() is None:
            conn.execute(insert(forgotten).values(hash=digest, forgotten_at=now()))
    return row is not None


def deliveries_of(engine: Engine, email: str) -> list[dict[str, Any]]:
    """Every ledger row of one address, oldest issue first: what `subscribers show` prints."""
    d, s, i = deliveries, subscribers, issues
    query = (
        select(i.c.period_key, d.c.state, d.c.attempts, d.c.code, d.c.reply, d.c.updated_at)
        .join(s, s.c.id == d.c.subscriber_id)
        .join(i, i.c.id == d.c.issue_id)
        .where(s.c.email == email.lower())
        .order_by(i.c.period_key)
    )
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]
