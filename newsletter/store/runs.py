"""Runs (what each send ended with) and the scheduler's job table, as `status` and the daemon read them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, func, insert, inspect, select, text, update

from newsletter.models import DONE, RunOutcome
from newsletter.store.database import now
from newsletter.store.schema import runs

# APScheduler's SQLAlchemyJobStore creates and owns this table in the same database.
JOB_TABLE = "apscheduler_jobs"


def start(engine: Engine, trigger: str, at: datetime | None = None) -> int:
    """A run begins (``at``: the daemon's clock; stored in UTC)."""
    with engine.begin() as conn:
        key = conn.execute(
            insert(runs).values(
                started_at=(at or now()).astimezone(UTC),
                trigger=trigger,
                period_key="",
                outcome=RunOutcome.RUNNING,
                message="",
                ok=False,
            )
        ).inserted_primary_key
    assert key is not None
    return int(key[0])


def finish(engine: Engine, run_id: int, outcome: RunOutcome, message: str, period_key: str = "") -> None:
    with engine.begin() as conn:
        conn.execute(
            update(runs)
            .where(runs.c.id == run_id)
            .values(
                finished_at=now(),
                outcome=outcome,
                message=message,
                period_key=period_key,
                ok=outcome in DONE,
            )
        )


def last(engine: Engine, trigger: str | None = None) -> dict[str, Any] | None:
    query = select(runs).order_by(runs.c.id.desc()).limit(1)
    if trigger:
        query = query.where(runs.c.trigger == trigger)
    with engine.connect() as conn:
        row = conn.execute(query).first()
    return dict(row._mapping) if row else None


def scheduled_since(engine: Engine, since: datetime) -> int:
    """How many scheduled runs started at or after ``since``."""
    since_utc = since.astimezone(UTC)  # runs are stamped in UTC; SQLite keeps its wall clock
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).where(runs.c.trigger == "schedule", runs.c.started_at >= since_utc)
            ).scalar()
            or 0
        )


def scheduled_jobs(engine: Engine) -> list[tuple[str, datetime | None]]:
    """(job id, next run time in UTC) from the scheduler's job table, soonest first; [] before any daemon ran."""
    if not inspect(engine).has_table(JOB_TABLE):
        return []
    with engine.connect() as conn:
        rows = conn.execute(text(f"SELECT id, next_run_time FROM {JOB_TABLE} ORDER BY next_run_time")).all()
    return [(r[0], datetime.fromtimestamp(r[1], UTC) if r[1] is not None else None) for r in rows]
