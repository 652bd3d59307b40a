"""Signups from `serve`'s form: what one request does to the list, the limits it counts, and confirming.

Every request that reaches the store is a row of ``signup_requests`` holding keyed hashes of the
address and of the client (the database's own key, never the raw address or IP), its time, and
whether a confirmation email was sent for it. The limits are counted on those rows:

    per client   at most ``client_limit`` requests an hour (over it, a request changes nothing)
    per address  at most one confirmation email a day

``request`` decides and records in one transaction, so fifty requests for one address at the same
instant mail it once: on SQLite the row is inserted first, which takes the database's write lock
before anything is counted; on PostgreSQL a transaction-level advisory lock on the address's hash
makes the requests for one address take turns. Rows older than a day count for nothing and are
pruned, with pending signups nobody confirmed within a week.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, insert, select, text, update

from newsletter.models import SUPPRESSED, SubscriberStatus
from newsletter.store.database import aware, lock_key, now
from newsletter.store.schema import forgotten, signup_requests, subscribers
from newsletter.store.subscribers import _hash_key, _is_forgotten, keyed_hash

ACTIVE = SubscriberStatus.ACTIVE
PENDING = SubscriberStatus.PENDING
HOUR = 3600.0
DAY = 24 * HOUR
PENDING_KEPT = 8 * DAY  # a confirmation link lasts 7 days; an unconfirmed signup is dropped after
FORM_CAUSE = "signed up on the web page"
CONFIRMED_CAUSE = "confirmed the signup email"


class Outcome(StrEnum):
    """What one signup request leads to; the web page says the same thing for every one of them."""

    CONFIRM = "confirm"  # email the address a confirmation link
    WELCOME = "welcome"  # active at once (no double opt-in): a welcome email if one is configured
    NOTHING = "nothing"  # already active, limited, or mailed within the day


class Confirmed(StrEnum):
    ACTIVATED = "activated"
    ALREADY = "already"  # active before: the link was used twice
    STALE = "stale"  # the address left after the link was made: the link no longer brings it back


@dataclass(frozen=True, slots=True)
class Decision:
    """What became of one signup request; ``request_id`` undoes its mark when the email fails."""

    outcome: Outcome
    request_id: int


def request(
    engine: Engine,
    email: str,
    client: str,
    name: str,
    *,
    at: float,
    double_opt_in: bool,
    client_limit: int,
) -> Decision:
    """Record one signup request for ``email`` (normalised) from ``client`` (an IP address) and decide it."""
    with engine.begin() as conn:
        key = _hash_key(conn)
        address = keyed_hash(key, email)
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_key("signup:" + address)})
        client = keyed_hash(key, "client\0" + client)
        request_id = conn.execute(
            insert(signup_requests)
            .values(address=address, client=client, at=at, mailed=False)
            .returning(signup_requests.c.id)
        ).scalar_one()
        if client_limit and _recent(conn, client, request_id, at) >= client_limit:
            return Decision(Outcome.NOTHING, request_id)
        outcome = _decide(conn, email, name, address, at, double_opt_in)
        if outcome == Outcome.CONFIRM:
            conn.execute(
                update(signup_requests).where(signup_requests.c.id == request_id).values(mailed=True)
            )
    return Decision(outcome, request_id)


def _recent(conn: Connection, client: str, request_id: int, at: float) -> int:
    """The client's other requests of the last hour."""
    r = signup_requests
    query = select(func.count()).where(r.c.client == client, r.c.at > at - HOUR, r.c.id != request_id)
    return int(conn.execute(query).scalar_one())


def _decide(conn: Connection, email: str, name: str, address: str, at: float, double_opt_in: bool) -> Outcome:
    r = signup_requests
    row = conn.execute(select(subscribers).where(subscribers.c.email == email)).first()
    if row is not None and row.status == ACTIVE:
        return Outcome.NOTHING
    suppressed = row.status != PENDING if row is not None else _is_forgotten(conn, email)
    if not double_opt_in and not suppressed:
        _activate_at_once(conn, row, email, name)
        return Outcome.WELCOME
    if row is None and not suppressed:
        conn.execute(insert(subscribers).values(_pending(email, name)))
    mailed = conn.execute(
        select(func.count()).where(r.c.address == address, r.c.mailed, r.c.at > at - DAY)
    ).scalar_one()
    if mailed:
        return Outcome.NOTHING
    if row is not None and row.status == PENDING:  # a new link: kept until it expires (see prune)
        conn.execute(update(subscribers).where(subscribers.c.id == row.id).values(asked_at=now()))
    return Outcome.CONFIRM


def _pending(email: str, name: str) -> dict[str, Any]:
    moment = now()
    return {
        "email": email,
        "name": name,
        "fields": "{}",
        "status": PENDING,
        "changed_at": moment,
        "cause": FORM_CAUSE,
        "source": "form",
        "asked_at": moment,
    }


def _activate_at_once(conn: Connection, row: Any, email: str, name: str) -> None:
    moment = now()
    confirmed = {"status": ACTIVE, "changed_at": moment, "asked_at": moment, "confirmed_at": moment}
    if row is None:
        conn.execute(insert(subscribers).values({**_pending(email, name), **confirmed}))
    else:  # pending from when double opt-in was on
        conn.execute(
            update(subscribers)
            .where(subscribers.c.id == row.id, subscribers.c.status == PENDING)
            .values(confirmed)
        )


def unmark(engine: Engine, request_id: int) -> None:
    """The confirmation email of this request could not be sent: the next request may send one."""
    with engine.begin() as conn:
        conn.execute(update(signup_requests).where(signup_requests.c.id == request_id).values(mailed=False))


def confirm(engine: Engine, email: str, asked: float) -> Confirmed:
    """Make ``email`` active: it followed the link of a request made at ``asked`` (unix time).

    A pending, unsubscribed, bounced or removed address becomes active; a forgotten one is added
    back and its hash dropped. An address that left after the link was made stays where it is.
    """
    asked_at = datetime.fromtimestamp(asked, UTC)
    s = subscribers
    with engine.begin() as conn:
        row = conn.execute(select(s).where(s.c.email == email)).first()
        values = {"status": ACTIVE, "cause": CONFIRMED_CAUSE, "changed_at": now(), "confirmed_at": now()}
        if row is None:
            if _is_forgotten(conn, email):
                conn.execute(delete(forgotten).where(forgotten.c.hash == keyed_hash(_hash_key(conn), email)))
            conn.execute(insert(s).values({**_pending(email, ""), **values, "asked_at": asked_at}))
            return Confirmed.ACTIVATED
        if row.status == ACTIVE:
            return Confirmed.ALREADY
        left_at = aware(row.changed_at) if row.status in (*SUPPRESSED, SubscriberStatus.REMOVED) else None
        if left_at is not None and left_at > asked_at:
            return Confirmed.STALE
        result = conn.execute(
            update(s).where(s.c.id == row.id, s.c.status == row.status).values(**values, asked_at=asked_at)
        )
    return Confirmed.ACTIVATED if result.rowcount == 1 else Confirmed.STALE


def prune(engine: Engine, at: float) -> None:
    """Forget requests older than a day, and signups nobody confirmed within the link's life."""
    cutoff = datetime.fromtimestamp(at - PENDING_KEPT, UTC)
    asked_at = subscribers.c.asked_at
    with engine.begin() as conn:
        conn.execute(delete(signup_requests).where(signup_requests.c.at < at - DAY))
        conn.execute(
            delete(subscribers).where(
                subscribers.c.status == PENDING,
                subscribers.c.source == "form",
                asked_at < cutoff,
            )
        )


def counts(engine: Engine) -> dict[str, int]:
    """How many requests are recorded, and how many of them sent a confirmation (bench/signup.py)."""
    r = signup_requests
    with engine.connect() as conn:
        total, mailed = conn.execute(select(func.count(), func.count().filter(r.c.mailed))).one()
    return {"requests": total, "mailed": mailed}
