"""The editor's word on each period's automatic send: one row a period (see newsletter.preflight).

Every change is a compare-and-set on ``version``: a link carries the version it was made for, so it
works once, and a stale link (the issue was held or released since the email went) changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, select, update

from newsletter.store.database import aware, insert_ignoring_duplicates, now
from newsletter.store.schema import preflights

PENDING, HELD, RELEASED, SKIPPED = "pending", "held", "released", "skipped"


@dataclass(frozen=True, slots=True)
class Preflight:
    period_key: str
    due_at: datetime
    expires_at: datetime
    mailed_at: datetime | None
    state: str
    send_now: bool
    version: int
    changed_at: datetime | None
    changed_by: str
    reminded_at: datetime | None


def _row(mapping: object) -> Preflight:
    m = dict(mapping)  # type: ignore[call-overload]
    return Preflight(
        period_key=m["period_key"],
        due_at=aware(m["due_at"]),  # type: ignore[arg-type]
        expires_at=aware(m["expires_at"]),  # type: ignore[arg-type]
        mailed_at=aware(m["mailed_at"]),
        state=m["state"],
        send_now=bool(m["send_now"]),
        version=int(m["version"]),
        changed_at=aware(m["changed_at"]),
        changed_by=m["changed_by"],
        reminded_at=aware(m["reminded_at"]),
    )


def get(engine: Engine, period_key: str) -> Preflight | None:
    with engine.connect() as conn:
        row = conn.execute(select(preflights).where(preflights.c.period_key == period_key)).first()
    return _row(row._mapping) if row is not None else None


def recent(engine: Engine, limit: int = 5) -> list[Preflight]:
    """The latest periods' rows, newest first (for `status`)."""
    with engine.connect() as conn:
        rows = conn.execute(select(preflights).order_by(preflights.c.due_at.desc()).limit(limit)).all()
    return [_row(r._mapping) for r in rows]


def open_for(engine: Engine, period_key: str, due_at: datetime, expires_at: datetime) -> Preflight:
    """The period's row, created pending when missing (two daemons: one insert wins, both read it)."""
    with engine.begin() as conn:
        conn.execute(
            insert_ignoring_duplicates(conn, preflights).values(
                period_key=period_key,
                due_at=due_at.astimezone(UTC),  # SQLite keeps the wall clock: store UTC
                expires_at=expires_at.astimezone(UTC),
                state=PENDING,
                send_now=False,
                version=1,
                changed_by="",
            )
        )
    found = get(engine, period_key)
    assert found is not None
    return found


def claim_mailing(engine: Engine, period_key: str) -> bool:
    """True for the one caller that is to email the preflight (it was not mailed yet)."""
    return _claim(engine, period_key, "mailed_at")


def claim_reminder(engine: Engine, period_key: str) -> bool:
    """True for the one caller that is to send the reminder (none was sent)."""
    return _claim(engine, period_key, "reminded_at")


def _claim(engine: Engine, period_key: str, column: str) -> bool:
    """Stamp ``column`` if it is empty, in one statement: of two processes, one gets True."""
    with engine.begin() as conn:
        done = conn.execute(
            update(preflights)
            .where(preflights.c.period_key == period_key, preflights.c[column].is_(None))
            .values({column: now()})
        )
    return bool(done.rowcount)


def change(
    engine: Engine,
    period_key: str,
    state: str,
    *,
    by: str,
    version: int | None = None,
    send_now: bool = False,
    allowed_from: tuple[str, ...] = (PENDING, HELD),
) -> Preflight | None:
    """Set the state if the row is in one of ``allowed_from`` (and at ``version``, for a link);
    the changed row, or None when nothing changed."""
    conditions = [preflights.c.period_key == period_key, preflights.c.state.in_(allowed_from)]
    if version is not None:
        conditions.append(preflights.c.version == version)
    with engine.begin() as conn:
        done = conn.execute(
            update(preflights)
            .where(*conditions)
            .values(
                state=state,
                send_now=send_now,
                version=preflights.c.version + 1,
                changed_at=now(),
                changed_by=by,
            )
        )
    return get(engine, period_key) if done.rowcount else None


def unclaim_mailing(engine: Engine, period_key: str) -> None:
    """The preflight email failed: let the next attempt send it."""
    with engine.begin() as conn:
        conn.execute(update(preflights).where(preflights.c.period_key == period_key).values(mailed_at=None))
