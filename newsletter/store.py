"""The database: tables and the queries the stages need.

SQLAlchemy Core over a SQLite file by default (WAL, one writer at a time); any SQLAlchemy URL
works. No ORM sessions: the send loop runs thousands of small statements a second.

Tables:
    issues       one row per period key; the editor's draft (JSON) and its state
    seen_items   story keys already sent, so a story never appears in two issues
    subscribers  the list, with a status and the time and cause of its last change
    deliveries   the ledger: one row per (issue, subscriber)
    feed_state   per source: ETag / Last-Modified and consecutive failures
    runs         what each scheduled or manual send ended with
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    DateTime,
    Engine,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    bindparam,
    cast,
    create_engine,
    event,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError

from newsletter.errors import StoreError

metadata = MetaData()

issues = Table(
    "issues",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("period_key", String(32), nullable=False, unique=True),
    Column("period_start", DateTime(timezone=True), nullable=False),
    Column("period_end", DateTime(timezone=True), nullable=False),
    Column("draft", Text, nullable=False),  # JSON: headline, cards, links, editor choices
    # draft -> sending (ledger being filled / sent) -> sent
    Column("state", String(16), nullable=False, default="draft"),
    Column("subject", Text, nullable=False, default=""),
    Column("html", Text, nullable=False, default=""),  # as sent, tokens in place, for the archive
    Column("text", Text, nullable=False, default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True)),
)

seen_items = Table(
    "seen_items",
    metadata,
    Column("key", String(512), primary_key=True),
    Column("issue_id", Integer, ForeignKey("issues.id"), nullable=False),
)

subscribers = Table(
    "subscribers",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("email", String(320), nullable=False, unique=True),  # stored lower-cased
    Column("name", Text, nullable=False, default=""),
    Column("fields", Text, nullable=False, default="{}"),  # JSON of extra CSV columns
    Column(
        "status", String(16), nullable=False, default="active"
    ),  # active | unsubscribed | bounced | removed
    Column("changed_at", DateTime(timezone=True), nullable=False),
    Column("cause", Text, nullable=False, default=""),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("issue_id", Integer, ForeignKey("issues.id"), nullable=False),
    Column("subscriber_id", Integer, ForeignKey("subscribers.id"), nullable=False),
    Column("state", String(16), nullable=False, default="pending"),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt", Float, nullable=False, default=0.0),  # unix time
    Column("code", Integer, nullable=False, default=0),
    Column("reply", Text, nullable=False, default=""),
    Column("updated_at", Float, nullable=False, default=0.0),
    UniqueConstraint("issue_id", "subscriber_id"),
)

feed_state = Table(
    "feed_state",
    metadata,
    Column("source", String(2048), primary_key=True),
    Column("etag", Text, nullable=False, default=""),
    Column("last_modified", Text, nullable=False, default=""),
    Column("body", Text, nullable=False, default=""),  # last good body, reused on 304
    Column("failures", Integer, nullable=False, default=0),
    Column("last_error", Text, nullable=False, default=""),
    Column("updated_at", DateTime(timezone=True)),
)

runs = Table(
    "runs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("trigger", String(16), nullable=False),  # manual | schedule
    Column("period_key", String(32), nullable=False, default=""),
    Column("outcome", String(16), nullable=False, default="running"),  # sent | nothing-new | failed | running
    Column("message", Text, nullable=False, default=""),
    Column("ok", Boolean, nullable=False, default=False),
)


def now() -> datetime:
    return datetime.now(UTC)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def open_engine(url: str) -> Engine:
    """Open (and create when new) the database at ``url``."""
    try:
        engine = create_engine(url, future=True)
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
        _create_tables(engine)
    except (OperationalError, SQLAlchemyError) as exc:
        raise StoreError(
            f"cannot open the database {url}: {exc.__class__.__name__}: {exc.orig if hasattr(exc, 'orig') else exc}",
            hint="check [newsletter] database in the config and that its folder exists and is writable",
        ) from exc
    return engine


def _create_tables(engine: Engine, attempts: int = 5) -> None:
    """Create missing tables. Two processes opening a new database at once race between
    create_all's check and its CREATE TABLE; the loser sees "already exists" and checks again."""
    for attempt in range(attempts):
        try:
            metadata.create_all(engine)
            return
        except OperationalError as exc:
            if "already exists" not in str(exc.orig) or attempt == attempts - 1:
                raise


# --- issues -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IssueRow:
    id: int
    period_key: str
    period_start: datetime
    period_end: datetime
    draft: dict[str, Any]
    state: str
    subject: str
    html: str
    text: str
    sent_at: datetime | None


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _issue_row(row: Any) -> IssueRow:
    return IssueRow(
        id=row.id,
        period_key=row.period_key,
        period_start=_aware(row.period_start),  # type: ignore[arg-type]
        period_end=_aware(row.period_end),  # type: ignore[arg-type]
        draft=json.loads(row.draft),
        state=row.state,
        subject=row.subject,
        html=row.html,
        text=row.text,
        sent_at=_aware(row.sent_at),
    )


def get_issue(engine: Engine, period_key: str) -> IssueRow | None:
    with engine.connect() as conn:
        row = conn.execute(select(issues).where(issues.c.period_key == period_key)).first()
    return _issue_row(row) if row else None


def save_draft(
    engine: Engine, period_key: str, start: datetime, end: datetime, draft: dict[str, Any]
) -> None:
    """Create or replace the period's draft. A draft already being sent is never replaced."""
    body = json.dumps(draft, ensure_ascii=False)
    start, end = start.astimezone(UTC), end.astimezone(UTC)  # SQLite keeps the wall clock, not the zone
    with engine.begin() as conn:
        existing = conn.execute(
            select(issues.c.id, issues.c.state).where(issues.c.period_key == period_key)
        ).first()
        if existing is None:
            conn.execute(
                insert(issues).values(
                    period_key=period_key,
                    period_start=start,
                    period_end=end,
                    draft=body,
                    state="draft",
                    created_at=now(),
                )
            )
        elif existing.state == "draft":
            conn.execute(
                update(issues)
                .where(issues.c.id == existing.id)
                .values(draft=body, period_start=start, period_end=end)
            )


def mark_issue_sending(
    engine: Engine, issue_id: int, subject: str, html: str, text: str, item_keys: Iterable[str]
) -> bool:
    """Freeze the draft and its rendering for sending; True when this call made the change (one sender wins)."""
    with engine.begin() as conn:
        result = conn.execute(
            update(issues)
            .where(issues.c.id == issue_id, issues.c.state == "draft")
            .values(state="sending", subject=subject, html=html, text=text)
        )
        if result.rowcount != 1:
            return False
        existing = set(conn.execute(select(seen_items.c.key)).scalars())
        rows = [{"key": key, "issue_id": issue_id} for key in set(item_keys) - existing]
        if rows:
            conn.execute(insert(seen_items), rows)
        return True


def mark_issue_sent(engine: Engine, issue_id: int) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(issues)
            .where(issues.c.id == issue_id, issues.c.state == "sending")
            .values(state="sent", sent_at=now())
        )


def last_cutoff(engine: Engine, before: datetime) -> datetime | None:
    """The end of the latest issue sent (or being sent) before ``before``."""
    before = before.astimezone(UTC)
    with engine.connect() as conn:
        value = conn.execute(
            select(func.max(issues.c.period_end)).where(
                issues.c.state.in_(("sending", "sent")), issues.c.period_end <= before
            )
        ).scalar()
    return _aware(value)


def seen_keys(engine: Engine, exclude_issue: int | None = None) -> set[str]:
    query = select(seen_items.c.key)
    if exclude_issue is not None:
        query = query.where(seen_items.c.issue_id != exclude_issue)
    with engine.connect() as conn:
        return set(conn.execute(query).scalars())


def list_issues(engine: Engine) -> list[IssueRow]:
    with engine.connect() as conn:
        rows = conn.execute(select(issues).order_by(issues.c.period_end.desc())).all()
    return [_issue_row(r) for r in rows]


# --- feed state ---------------------------------------------------------------------------


def failing_feeds(engine: Engine, at_least: int = 2) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(select(feed_state).where(feed_state.c.failures >= at_least)).all()
    return [dict(r._mapping) for r in rows]


# --- collection: failures in a row, and when each story was first seen --------------------

# An item without a date is dated by the first run that saw it, once, so it is not new every week.
first_seen = Table(
    "first_seen",
    metadata,
    Column("key", String(512), primary_key=True),  # collect.story_key of the item's link
    Column("seen_at", DateTime(timezone=True), nullable=False),
)


def feed_states(engine: Engine, sources: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The stored state (validators, last good body, failures in a row) of each of these sources."""
    found: dict[str, dict[str, Any]] = {}
    with engine.connect() as conn:
        for chunk in _chunks(sorted(set(sources)), 500):
            rows = conn.execute(select(feed_state).where(feed_state.c.source.in_(chunk))).all()
            found.update({r.source: dict(r._mapping) for r in rows})
    return found


def record_feeds(engine: Engine, outcomes: Iterable[dict[str, Any]]) -> dict[str, int]:
    """Remember a run's fetches in one transaction; return each source's failures in a row.

    Each outcome: source, and either error, or etag, last_modified and body (None keeps the stored body).
    """
    outcomes = list(outcomes)
    known = feed_states(engine, (o["source"] for o in outcomes))
    failures: dict[str, int] = {}
    with engine.begin() as conn:
        for outcome in outcomes:
            source = outcome["source"]
            values: dict[str, Any] = {"updated_at": now()}
            if outcome.get("error"):
                failures[source] = int(known.get(source, {}).get("failures", 0)) + 1
                values.update(failures=failures[source], last_error=outcome["error"])
            else:
                failures[source] = 0
                values.update(
                    failures=0, last_error="", etag=outcome["etag"], last_modified=outcome["last_modified"]
                )
                if outcome.get("body") is not None:
                    values["body"] = outcome["body"]
            if source not in known:
                conn.execute(
                    insert(feed_state).prefix_with("OR IGNORE", dialect="sqlite").values(source=source)
                )
            conn.execute(update(feed_state).where(feed_state.c.source == source).values(**values))
    return failures


def first_seen_times(engine: Engine, keys: Iterable[str], seen_at: datetime) -> dict[str, datetime]:
    """When each story key was first seen; keys never seen before are recorded as seen at ``seen_at``."""
    wanted = set(keys)
    if not wanted:
        return {}
    found: dict[str, datetime] = {}
    with engine.begin() as conn:
        for chunk in _chunks(sorted(wanted), 500):
            rows = conn.execute(select(first_seen).where(first_seen.c.key.in_(chunk))).all()
            found.update({r.key: _aware(r.seen_at) for r in rows})  # type: ignore[misc]
        when = seen_at.astimezone(UTC)
        new = sorted(wanted - found.keys())
        if new:
            conn.execute(
                insert(first_seen).prefix_with("OR IGNORE", dialect="sqlite"),
                [{"key": k, "seen_at": when} for k in new],
            )
            found.update(dict.fromkeys(new, when))
    return found


def _chunks(values: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


# --- subscribers --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SubscriberRow:
    id: int
    email: str
    name: str
    fields: dict[str, str]
    status: str
    changed_at: datetime
    cause: str


def _subscriber_row(row: Any) -> SubscriberRow:
    return SubscriberRow(
        id=row.id,
        email=row.email,
        name=row.name,
        fields=json.loads(row.fields or "{}"),
        status=row.status,
        changed_at=_aware(row.changed_at),  # type: ignore[arg-type]
        cause=row.cause,
    )


def get_subscriber(engine: Engine, email: str) -> SubscriberRow | None:
    with engine.connect() as conn:
        row = conn.execute(select(subscribers).where(subscribers.c.email == email.lower())).first()
    return _subscriber_row(row) if row else None


def iter_subscribers(engine: Engine, status: str | None = None, batch: int = 5000) -> Iterator[SubscriberRow]:
    """All subscribers in id order, read in batches so a long list is never held whole."""
    last = 0
    while True:
        query = select(subscribers).where(subscribers.c.id > last).order_by(subscribers.c.id).limit(batch)
        if status:
            query = query.where(subscribers.c.status == status)
        with engine.connect() as conn:
            rows = conn.execute(query).all()
        if not rows:
            return
        for row in rows:
            yield _subscriber_row(row)
        last = rows[-1].id


def set_subscriber_status(engine: Engine, email: str, status: str, cause: str) -> bool:
    """Change a subscriber's status; False when the address is unknown."""
    with engine.begin() as conn:
        result = conn.execute(
            update(subscribers)
            .where(subscribers.c.email == email.lower())
            .values(status=status, cause=cause, changed_at=now())
        )
    return result.rowcount == 1


def count_subscribers(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(select(subscribers.c.status, func.count()).group_by(subscribers.c.status)).all()
    return {status: n for status, n in rows}


# --- the web app: unsubscribe, resubscribe, archive ---------------------------------------


def unsubscribe_address(engine: Engine, email: str, cause: str) -> bool:
    """Put an address on the suppression list; True when this call changed it.

    An address the store does not know is added as unsubscribed, so no later import adds it.
    Repeating the call changes nothing (the first time and cause stay).
    """
    email = email.lower()
    s = subscribers
    try:
        with engine.begin() as conn:
            result = conn.execute(
                update(s)
                .where(s.c.email == email, s.c.status != "unsubscribed")
                .values(status="unsubscribed", cause=cause, changed_at=now())
            )
            if result.rowcount:
                return True
            if conn.execute(select(s.c.id).where(s.c.email == email)).first() is not None:
                return False
            conn.execute(
                insert(s).values(
                    email=email, name="", fields="{}", status="unsubscribed", changed_at=now(), cause=cause
                )
            )
            return True
    except IntegrityError:  # another request added the same address at the same instant
        return False


def resubscribe_address(engine: Engine, email: str, cause: str) -> bool:
    """Make an unsubscribed address active again; True when it was unsubscribed (bounced stays bounced)."""
    s = subscribers
    with engine.begin() as conn:
        result = conn.execute(
            update(s)
            .where(s.c.email == email.lower(), s.c.status == "unsubscribed")
            .values(status="active", cause=cause, changed_at=now())
        )
    return result.rowcount == 1


def archived_issues(engine: Engine) -> list[IssueRow]:
    """Issues whose email has gone out (or is going out), newest first: what the archive shows."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(issues)
            .where(issues.c.state.in_(("sending", "sent")), issues.c.html != "")
            .order_by(issues.c.period_end.desc())
        ).all()
    return [_issue_row(r) for r in rows]


# --- runs ---------------------------------------------------------------------------------


def start_run(engine: Engine, trigger: str) -> int:
    with engine.begin() as conn:
        key = conn.execute(insert(runs).values(started_at=now(), trigger=trigger)).inserted_primary_key
    assert key is not None
    return int(key[0])


def finish_run(engine: Engine, run_id: int, outcome: str, message: str, period_key: str = "") -> None:
    with engine.begin() as conn:
        conn.execute(
            update(runs)
            .where(runs.c.id == run_id)
            .values(
                finished_at=now(),
                outcome=outcome,
                message=message,
                period_key=period_key,
                ok=outcome in ("sent", "nothing-new"),
            )
        )


def last_run(engine: Engine) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(select(runs).order_by(runs.c.id.desc()).limit(1)).first()
    return dict(row._mapping) if row else None


# --- the delivery ledger ------------------------------------------------------------------


def enqueue(engine: Engine, issue_id: int) -> int:
    """Give every active subscriber without a row for this issue a pending row; return how many."""
    d, s = deliveries, subscribers
    query = select(
        literal(issue_id),
        s.c.id,
        literal("pending"),
        literal(0),
        literal(0.0),
        literal(0),
        literal(""),
        literal(0.0),
    ).where(
        s.c.status == "active",
        ~select(d.c.id).where(d.c.issue_id == issue_id, d.c.subscriber_id == s.c.id).exists(),
    )
    with engine.begin() as conn:
        result = conn.execute(
            insert(d).from_select(
                [
                    "issue_id",
                    "subscriber_id",
                    "state",
                    "attempts",
                    "next_attempt",
                    "code",
                    "reply",
                    "updated_at",
                ],
                query,
            )
        )
    return int(result.rowcount or 0)


# The send loop's hot path: one connection held for the whole send, plain tuples, one
# transaction per group of results (WAL and synchronous=NORMAL make a commit cheap, and a
# killed process loses nothing committed).
DueRow = tuple[
    int, int, str, str, str, int, str
]  # id, subscriber id, email, name, fields JSON, attempts, status


def due_batch(conn: Connection, issue_id: int, now_ts: float, after_id: int, limit: int) -> list[DueRow]:
    """The next pending or due deferred rows after ``after_id``, in id order, with the subscriber's status."""
    d, s = deliveries, subscribers
    query = (
        select(d.c.id, d.c.subscriber_id, s.c.email, s.c.name, s.c.fields, d.c.attempts, s.c.status)
        .join(s, s.c.id == d.c.subscriber_id)
        .where(
            # "+ 0" keeps SQLite off the (issue_id, subscriber_id) index, which made it read and
            # sort every row of the issue for each batch; the id range is the fast way in.
            d.c.issue_id + 0 == issue_id,
            d.c.id > after_id,
            d.c.state.in_(("pending", "deferred")),
            d.c.next_attempt <= now_ts,
        )
        .order_by(d.c.id)
        .limit(limit)
    )
    return [tuple(r) for r in conn.execute(query)]  # type: ignore[misc]


def data_version(conn: Connection) -> int | None:
    """SQLite's count of commits made through other connections (a web unsubscribe, a CSV sync);
    reading it costs microseconds, so the send loop asks before every message. None elsewhere."""
    if conn.dialect.name != "sqlite":
        return None
    cursor = conn.connection.driver_connection.execute("PRAGMA data_version")  # type: ignore[union-attr]
    return int(cursor.fetchone()[0])


def inactive_among(conn: Connection, subscriber_ids: Iterable[int]) -> set[int]:
    """Which of these subscribers left the list (unsubscribed, bounced, removed) since they were read."""
    ids = list(subscriber_ids)
    if not ids:
        return set()
    query = select(subscribers.c.id).where(subscribers.c.id.in_(ids), subscribers.c.status != "active")
    return set(conn.execute(query).scalars())


_record = (
    update(deliveries)
    .where(deliveries.c.id == bindparam("row_id"))
    .values(
        state=bindparam("state"),
        code=bindparam("code"),
        reply=bindparam("reply"),
        attempts=bindparam("attempts"),
        next_attempt=bindparam("next_attempt"),
        updated_at=bindparam("updated_at"),
    )
)


_RECORD_KEYS = ("state", "code", "reply", "attempts", "next_attempt", "updated_at", "row_id")
_RECORD_SQLITE = (
    "UPDATE deliveries SET state = ?, code = ?, reply = ?, attempts = ?, next_attempt = ?, updated_at = ? "
    "WHERE id = ?"
)


def record_results(conn: Connection, results: list[dict[str, Any]], bounced: list[tuple[int, str]]) -> None:
    """Write a group of recipients' fates and the bounced addresses, and commit them together.

    Each result: row_id, state, code, reply, attempts, next_attempt, updated_at.
    """
    if conn.dialect.name == "sqlite" and not bounced:
        # The driver itself, in its own transaction: SQLAlchemy's work per statement cost more than
        # SQLite's. ``conn`` holds no open transaction here (every read is committed at once).
        raw = conn.connection.driver_connection
        assert raw is not None
        raw.executemany(_RECORD_SQLITE, [tuple(r[k] for k in _RECORD_KEYS) for r in results])
        raw.commit()
        return
    if results:
        conn.execute(_record, results)
    for subscriber_id, cause in bounced:
        conn.execute(
            update(subscribers)
            .where(subscribers.c.id == subscriber_id, subscribers.c.status == "active")
            .values(status="bounced", cause=cause[:500], changed_at=now())
        )
    conn.commit()


def attempts_since(conn: Connection, since_ts: float) -> list[tuple[float, int]]:
    """(minute as unix time, messages handed to a server in it) since ``since_ts``, over every issue:
    the hourly rate limit counts what earlier sends used."""
    minute = cast(deliveries.c.updated_at / 60, Integer)
    query = (
        select(minute, func.count())
        .where(deliveries.c.updated_at >= since_ts, deliveries.c.attempts > 0)
        .group_by(minute)
    )
    return [(float(m) * 60, int(n)) for m, n in conn.execute(query)]


def ledger_counts(engine: Engine, issue_id: int) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(deliveries.c.state, func.count())
            .where(deliveries.c.issue_id == issue_id)
            .group_by(deliveries.c.state)
        ).all()
    return {state: n for state, n in rows}


def next_attempt_at(engine: Engine, issue_id: int) -> float | None:
    with engine.connect() as conn:
        return next_attempt_in(conn, issue_id)


def next_attempt_in(conn: Connection, issue_id: int) -> float | None:
    """When the earliest waiting row of the issue is due (unix time), or None when none waits."""
    return conn.execute(
        select(func.min(deliveries.c.next_attempt)).where(
            deliveries.c.issue_id == issue_id, deliveries.c.state.in_(("pending", "deferred"))
        )
    ).scalar()


def failed_rows(engine: Engine, issue_id: int | None = None) -> list[dict[str, Any]]:
    d, s, i = deliveries, subscribers, issues
    query = (
        select(i.c.period_key, s.c.email, d.c.code, d.c.reply, d.c.attempts, d.c.updated_at)
        .join(s, s.c.id == d.c.subscriber_id)
        .join(i, i.c.id == d.c.issue_id)
        .where(d.c.state == "failed")
        .order_by(i.c.period_key, s.c.email)
    )
    if issue_id is not None:
        query = query.where(d.c.issue_id == issue_id)
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def retry_failed(engine: Engine, issue_id: int) -> int:
    """Put an issue's failed rows back to pending (and the issue back to sending)."""
    with engine.begin() as conn:
        result = conn.execute(
            update(deliveries)
            .where(deliveries.c.issue_id == issue_id, deliveries.c.state == "failed")
            .values(state="pending", next_attempt=0.0, attempts=0)
        )
        if result.rowcount:
            conn.execute(update(issues).where(issues.c.id == issue_id).values(state="sending"))
    return int(result.rowcount or 0)


# --- one send at a time -------------------------------------------------------------------


@contextmanager
def send_lock(url: str) -> Iterator[None]:
    """Hold the database's send lock; raise StoreError when another process holds it.

    For a SQLite file the lock is an ``flock`` on a file beside it: the operating system releases
    it when the holder dies, even by SIGKILL, so a crashed send never blocks the next one.
    """
    if not url.startswith("sqlite:///"):
        yield  # server databases: issue state transitions guard against double sends
        return
    path = url.removeprefix("sqlite:///") + ".send-lock"
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise StoreError(
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


# --- the scheduler: its job table and its runs --------------------------------------------

# APScheduler's SQLAlchemyJobStore creates and owns this table in the same database.
JOB_TABLE = "apscheduler_jobs"


def scheduled_jobs(engine: Engine) -> list[tuple[str, datetime | None]]:
    """(job id, next run time in UTC) from the scheduler's job table, soonest first; [] before any daemon ran."""
    from sqlalchemy import inspect, text

    if not inspect(engine).has_table(JOB_TABLE):
        return []
    with engine.connect() as conn:
        rows = conn.execute(text(f"SELECT id, next_run_time FROM {JOB_TABLE} ORDER BY next_run_time")).all()
    return [(r[0], datetime.fromtimestamp(r[1], UTC) if r[1] is not None else None) for r in rows]


def last_schedule_run(engine: Engine) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(
            select(runs).where(runs.c.trigger == "schedule").order_by(runs.c.id.desc()).limit(1)
        ).first()
    return dict(row._mapping) if row else None


def schedule_runs_since(engine: Engine, since: datetime) -> int:
    """How many scheduled runs started at or after ``since``."""
    since_utc = since.astimezone(UTC)  # runs are stamped in UTC; SQLite keeps its wall clock
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).where(runs.c.trigger == "schedule", runs.c.started_at >= since_utc)
            ).scalar()
            or 0
        )
