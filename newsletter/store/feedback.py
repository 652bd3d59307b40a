"""What came back after a send, per subscriber and issue, and what it did to the list.

A permanent bounce suppresses the address (bounced, with the server's words); transient bounces in
every one of the last N issues sent to an address suppress it too; a complaint unsubscribes it at
once. Auto-replies are kept but change nothing. Each notification is recorded once (``ref``): a
mailbox read twice, or a webhook retried, counts it once. The record and the change of status are
one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, select, update

from newsletter.models import BOUNCES, DeliveryState, FeedbackKind, SubscriberStatus
from newsletter.store.database import aware, insert_ignoring_duplicates, now
from newsletter.store.schema import deliveries, feedback, issues, subscribers


@dataclass(frozen=True, slots=True)
class Target:
    """The one (issue, subscriber) a notification is about."""

    subscriber_id: int
    issue_id: int | None
    email: str


@dataclass(frozen=True, slots=True)
class Taken:
    recorded: bool  # False: this notification was recorded before
    suppressed: str = ""  # the new status when this one changed it ("bounced", "unsubscribed")


def target_of_delivery(engine: Engine, delivery_id: int) -> Target | None:
    """The ledger row a VERP token names."""
    d, s = deliveries, subscribers
    with engine.connect() as conn:
        row = conn.execute(
            select(d.c.subscriber_id, d.c.issue_id, s.c.email)
            .join(s, s.c.id == d.c.subscriber_id)
            .where(d.c.id == delivery_id)
        ).first()
    return Target(row.subscriber_id, row.issue_id, row.email) if row else None


def target_of_address(engine: Engine, email: str, period_key: str | None) -> Target | None:
    """An address on the list, and the issue of ``period_key`` when one was sent to it (else the
    last issue sent to it)."""
    s, d, i = subscribers, deliveries, issues
    with engine.connect() as conn:
        sub = conn.execute(select(s.c.id, s.c.email).where(s.c.email == email.lower())).first()
        if sub is None:
            return None
        query = select(d.c.issue_id).join(i, i.c.id == d.c.issue_id).where(d.c.subscriber_id == sub.id)
        if period_key:
            query = query.where(i.c.period_key == period_key)
        issue = conn.execute(query.order_by(d.c.issue_id.desc()).limit(1)).scalar()
    return Target(sub.id, issue, sub.email)


def last_issue_sent_to(engine: Engine, subscriber_id: int) -> int | None:
    d = deliveries
    with engine.connect() as conn:
        return conn.execute(
            select(func.max(d.c.issue_id)).where(
                d.c.subscriber_id == subscriber_id, d.c.state == DeliveryState.SENT
            )
        ).scalar()


def take(
    engine: Engine,
    target: Target,
    kind: FeedbackKind,
    *,
    status: str = "",
    diagnostic: str = "",
    via: str,
    ref: str | None,
    transient_limit: int = 3,
) -> Taken:
    """Record one notification about ``target`` and change the subscriber's status as it asks."""
    diagnostic = " ".join(diagnostic.split())[:1000]
    with engine.begin() as conn:
        values = {
            "subscriber_id": target.subscriber_id,
            "issue_id": target.issue_id,
            "kind": kind,
            "status": status[:16],
            "diagnostic": diagnostic,
            "via": via,
            "received_at": now(),
            "ref": ref[:255] if ref else None,
        }
        if ref is None:
            conn.execute(feedback.insert().values(values))
        elif (
            conn.execute(
                insert_ignoring_duplicates(conn, feedback).values(values).returning(feedback.c.id)
            ).first()
            is None
        ):
            return Taken(False)  # (rowcount is not to be trusted here: PostgreSQL's driver reports 1)
        said = f" ({status})" if status else ""
        if kind == FeedbackKind.PERMANENT:
            return Taken(
                True, _suppress(conn, target, SubscriberStatus.BOUNCED, f"bounced{said}: {diagnostic}")
            )
        if kind == FeedbackKind.COMPLAINT:
            return Taken(
                True, _suppress(conn, target, SubscriberStatus.UNSUBSCRIBED, "complaint: marked as spam")
            )
        if kind == FeedbackKind.TRANSIENT and _every_recent_issue_bounced(
            conn, target.subscriber_id, transient_limit
        ):
            cause = f"bounced: transient failures in the last {transient_limit} issues{said}: {diagnostic}"
            return Taken(True, _suppress(conn, target, SubscriberStatus.BOUNCED, cause))
    return Taken(True)


def _suppress(conn: Connection, target: Target, status: SubscriberStatus, cause: str) -> str:
    s = subscribers
    # Only an active or pending address changes: an unsubscribed one stays unsubscribed (its own
    # choice says more than a bounce), a bounced one keeps its first diagnostic.
    changed = conn.execute(
        update(s)
        .where(
            s.c.id == target.subscriber_id,
            s.c.status.in_((SubscriberStatus.ACTIVE, SubscriberStatus.PENDING)),
        )
        .values(status=status, cause=cause[:1000], changed_at=now())
    ).rowcount
    return str(status) if changed else ""


def _every_recent_issue_bounced(conn: Connection, subscriber_id: int, n: int) -> bool:
    """Whether each of the last ``n`` issues sent to this subscriber drew a bounce from it."""
    d, f = deliveries, feedback
    recent = list(
        conn.execute(
            select(d.c.issue_id)
            .where(d.c.subscriber_id == subscriber_id, d.c.state == DeliveryState.SENT)
            .order_by(d.c.issue_id.desc())
            .limit(n)
        ).scalars()
    )
    if len(recent) < n:
        return False
    bounced = conn.execute(
        select(func.count(func.distinct(f.c.issue_id))).where(
            f.c.subscriber_id == subscriber_id, f.c.issue_id.in_(recent), f.c.kind.in_(BOUNCES)
        )
    ).scalar()
    return bounced == n


def of_subscriber(engine: Engine, subscriber_id: int) -> list[dict[str, Any]]:
    """Every notification about one subscriber, oldest first: what `subscribers show` prints."""
    f, i = feedback, issues
    with engine.connect() as conn:
        rows = conn.execute(
            select(f.c.kind, f.c.status, f.c.diagnostic, f.c.via, f.c.received_at, i.c.period_key)
            .join(i, i.c.id == f.c.issue_id, isouter=True)
            .where(f.c.subscriber_id == subscriber_id)
            .order_by(f.c.id)
        ).all()
    return [{**row._asdict(), "received_at": aware(row.received_at)} for row in rows]


def last_of(engine: Engine, subscriber_id: int, kinds: tuple[FeedbackKind, ...]) -> datetime | None:
    f = feedback
    with engine.connect() as conn:
        found = conn.execute(
            select(func.max(f.c.received_at)).where(f.c.subscriber_id == subscriber_id, f.c.kind.in_(kinds))
        ).scalar()
    return aware(found) if found else None


def counts_by_issue(engine: Engine, issue_ids: list[int]) -> dict[int, dict[str, int]]:
    """For each issue: how many distinct subscribers each kind of feedback came from."""
    f = feedback
    found: dict[int, dict[str, int]] = {i: {} for i in issue_ids}
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                f.c.issue_id, f.c.kind, func.count(func.distinct(func.coalesce(f.c.subscriber_id, -f.c.id)))
            )
            .where(f.c.issue_id.in_(issue_ids))
            .group_by(f.c.issue_id, f.c.kind)
        ).all()
    for issue_id, kind, n in rows:
        found[issue_id][kind] = n
    return found


def erase(conn: Connection, subscriber_id: int) -> None:
    """`subscribers forget`: keep the counts, drop who and the server's words (they may quote the address)."""
    conn.execute(
        update(feedback)
        .where(feedback.c.subscriber_id == subscriber_id)
        .values(subscriber_id=None, diagnostic="")
    )
