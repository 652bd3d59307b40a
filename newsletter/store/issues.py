"""Issues: one per period, its draft while the editor may change it, frozen once sending begins."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, func, insert, select, update

from newsletter.models import Draft, IssueState
from newsletter.store.database import aware, insert_ignoring_duplicates, now
from newsletter.store.schema import issues, seen_items


@dataclass(frozen=True, slots=True)
class IssueRow:
    id: int
    period_key: str
    period_start: datetime
    period_end: datetime
    draft: Draft
    state: IssueState
    subject: str
    html: str
    text: str
    sent_at: datetime | None
    pause_reason: str = ""
    rolled_over: str = ""  # why a send left it unsent (too few items): they roll into the next issue


def _row(row: Any) -> IssueRow:
    return IssueRow(
        id=row.id,
        period_key=row.period_key,
        period_start=aware(row.period_start),  # type: ignore[arg-type]
        period_end=aware(row.period_end),  # type: ignore[arg-type]
        draft=Draft.from_json(row.draft),
        state=IssueState(row.state),
        subject=row.subject,
        html=row.html,
        text=row.text,
        sent_at=aware(row.sent_at),
        pause_reason=row.pause_reason,
        rolled_over=row.rolled_over,
    )


def get(engine: Engine, period_key: str) -> IssueRow | None:
    with engine.connect() as conn:
        row = conn.execute(select(issues).where(issues.c.period_key == period_key)).first()
    return _row(row) if row else None


def save_draft(engine: Engine, period_key: str, start: datetime, end: datetime, draft: Draft) -> None:
    """Create or replace the period's draft. A draft already being sent is never replaced."""
    body = draft.to_json()
    start, end = start.astimezone(UTC), end.astimezone(UTC)  # SQLite keeps the wall clock, not the zone
    with engine.begin() as conn:
        # Several senders collecting the same period at once: one inserts, the others update.
        created = conn.execute(
            insert_ignoring_duplicates(conn, issues)
            .values(
                period_key=period_key,
                period_start=start,
                period_end=end,
                draft=body,
                state=IssueState.DRAFT,
                subject="",
                html="",
                text="",
                created_at=now(),
            )
            .returning(issues.c.id)
        ).first()
        if created is None:
            conn.execute(
                update(issues)
                .where(issues.c.period_key == period_key, issues.c.state == IssueState.DRAFT)
                .values(draft=body, period_start=start, period_end=end)
            )


def mark_sending(
    engine: Engine, issue_id: int, subject: str, html: str, text: str, item_keys: Iterable[str]
) -> bool:
    """Freeze the draft and its rendering for sending; True when this call made the change (one sender wins)."""
    with engine.begin() as conn:
        result = conn.execute(
            update(issues)
            .where(issues.c.id == issue_id, issues.c.state == IssueState.DRAFT)
            .values(state=IssueState.SENDING, subject=subject, html=html, text=text)
        )
        if result.rowcount != 1:
            return False
        existing = set(conn.execute(select(seen_items.c.key)).scalars())
        rows = [{"key": key, "issue_id": issue_id} for key in set(item_keys) - existing]
        if rows:
            conn.execute(insert(seen_items), rows)
        return True


def mark_sent(engine: Engine, issue_id: int) -> bool:
    """Sending -> sent; True for the one caller that made the change."""
    with engine.begin() as conn:
        result = conn.execute(
            update(issues)
            .where(issues.c.id == issue_id, issues.c.state == IssueState.SENDING)
            .values(state=IssueState.SENT, sent_at=now())
        )
    return result.rowcount == 1


def resume(engine: Engine, issue_id: int, *, joining: bool = False) -> None:
    """Clear a pause and the shared count of errors in a row: a new send starts afresh. A sender
    ``joining`` others that are sending the issue now keeps their count (resetting it would let
    the streak run past the limit), and clears only a pause (the operator's resume)."""
    i = issues
    where = [i.c.id == issue_id] + ([i.c.pause_reason != ""] if joining else [])
    with engine.begin() as conn:
        conn.execute(update(i).where(*where).values(pause_reason="", errors_in_a_row=0))


def last_cutoff(engine: Engine, before: datetime) -> datetime | None:
    """The end of the latest issue sent (or being sent) before ``before``."""
    before = before.astimezone(UTC)
    with engine.connect() as conn:
        value = conn.execute(
            select(func.max(issues.c.period_end)).where(
                issues.c.state.in_((IssueState.SENDING, IssueState.SENT)), issues.c.period_end <= before
            )
        ).scalar()
    return aware(value)


def mark_rolled_over(engine: Engine, issue_id: int, why: str) -> None:
    """A send found too few items: the draft stays unsent and its window is carried forward."""
    with engine.begin() as conn:
        conn.execute(
            update(issues)
            .where(issues.c.id == issue_id, issues.c.state == IssueState.DRAFT)
            .values(rolled_over=why)
        )


def rolled_over_start(engine: Engine, after: datetime, before: datetime) -> datetime | None:
    """The earliest window start of the unsent, rolled-over drafts whose cutoff is in (after, before)."""
    after, before = after.astimezone(UTC), before.astimezone(UTC)
    with engine.connect() as conn:
        value = conn.execute(
            select(func.min(issues.c.period_start)).where(
                issues.c.state == IssueState.DRAFT,
                issues.c.rolled_over != "",
                issues.c.period_end > after,
                issues.c.period_end < before,
            )
        ).scalar()
    return aware(value)


def seen_keys(engine: Engine, exclude_issue: int | None = None) -> set[str]:
    query = select(seen_items.c.key)
    if exclude_issue is not None:
        query = query.where(seen_items.c.issue_id != exclude_issue)
    with engine.connect() as conn:
        return set(conn.execute(query).scalars())


def all_issues(engine: Engine) -> list[IssueRow]:
    """Every issue, newest first."""
    with engine.connect() as conn:
        rows = conn.execute(select(issues).order_by(issues.c.period_end.desc())).all()
    return [_row(r) for r in rows]


def archived(engine: Engine) -> list[IssueRow]:
    """Issues whose email has gone out (or is going out), newest first: what the archive shows."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(issues)
            .where(issues.c.state.in_((IssueState.SENDING, IssueState.SENT)), issues.c.html != "")
            .order_by(issues.c.period_end.desc())
        ).all()
    return [_row(r) for r in rows]
