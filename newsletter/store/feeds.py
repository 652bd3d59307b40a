"""What collection remembers between runs: each source's validators, failures and health (its last
good read, its counts, when it last gave something new, what the editors were told), and when an
undated story was first seen (so it is new once, not every week)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select, update

from newsletter.store.database import aware, insert_ignoring_duplicates, now
from newsletter.store.schema import feed_state, first_seen


def failing(
    engine: Engine, at_least: int = 2, *, sources: Iterable[str] | None = None
) -> list[dict[str, Any]]:
    """The sources that failed at least ``at_least`` runs in a row, by name (URL or path).

    ``sources``: only these (the configured ones: a source taken out of the config keeps its row,
    and must not be reported for ever). None: every source ever recorded.
    """
    query = select(feed_state).where(feed_state.c.failures >= at_least).order_by(feed_state.c.source)
    if sources is None:
        with engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]
    found: list[dict[str, Any]] = []
    with engine.connect() as conn:
        for chunk in _chunks(sorted(set(sources)), 500):
            found += [dict(r._mapping) for r in conn.execute(query.where(feed_state.c.source.in_(chunk)))]
    return sorted(found, key=lambda r: str(r["source"]))


def states(engine: Engine, sources: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The stored state (validators, last good body, failures in a row) of each of these sources."""
    found: dict[str, dict[str, Any]] = {}
    with engine.connect() as conn:
        for chunk in _chunks(sorted(set(sources)), 500):
            rows = conn.execute(select(feed_state).where(feed_state.c.source.in_(chunk))).all()
            found.update({r.source: dict(r._mapping) for r in rows})
    return found


def record(engine: Engine, outcomes: Iterable[dict[str, Any]]) -> dict[str, int]:
    """Remember a run's fetches in one transaction; return each source's failures in a row.

    Each outcome: source, and either error, or etag, last_modified, body (None keeps the stored body)
    and entries (how many the source holds).
    """
    outcomes = list(outcomes)
    known = states(engine, (o["source"] for o in outcomes))
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
                    failures=0,
                    last_error="",
                    etag=outcome["etag"],
                    last_modified=outcome["last_modified"],
                    last_success_at=values["updated_at"],
                    entries=int(outcome.get("entries", 0)),
                )
                if outcome.get("body") is not None:
                    values["body"] = outcome["body"]
            if source not in known:
                conn.execute(
                    insert_ignoring_duplicates(conn, feed_state).values(
                        source=source, etag="", last_modified="", body="", failures=0, last_error=""
                    )
                )
            conn.execute(update(feed_state).where(feed_state.c.source == source).values(**values))
    return failures


def record_new(engine: Engine, counts: dict[str, int], at: datetime) -> None:
    """Each source's count of new entries at a collect whose cutoff is ``at``; a source that gave
    some (or was never counted before) gave something new as of ``at``."""
    when = at.astimezone(UTC)
    with engine.begin() as conn:
        for source, count in counts.items():
            fresh = feed_state.c.last_new_at.is_(None) | (feed_state.c.last_new_at < when)
            row = feed_state.c.source == source
            conn.execute(update(feed_state).where(row).values(new_items=count))
            if count:
                conn.execute(update(feed_state).where(row, fresh).values(last_new_at=when))
            else:
                conn.execute(
                    update(feed_state).where(row, feed_state.c.last_new_at.is_(None)).values(last_new_at=when)
                )


def set_alerted(engine: Engine, source: str, told: str) -> None:
    """What the editors were last told of the source: "failing", "quiet", or "" (all well)."""
    with engine.begin() as conn:
        conn.execute(update(feed_state).where(feed_state.c.source == source).values(alerted=told))


def first_seen_times(engine: Engine, keys: Iterable[str], seen_at: datetime) -> dict[str, datetime]:
    """When each story key was first seen; keys never seen before are recorded as seen at ``seen_at``."""
    wanted = set(keys)
    if not wanted:
        return {}
    found: dict[str, datetime] = {}
    with engine.begin() as conn:
        for chunk in _chunks(sorted(wanted), 500):
            rows = conn.execute(select(first_seen).where(first_seen.c.key.in_(chunk))).all()
            found.update({r.key: aware(r.seen_at) for r in rows})  # type: ignore[misc]
        when = seen_at.astimezone(UTC)
        new = sorted(wanted - found.keys())
        if new:
            conn.execute(
                insert_ignoring_duplicates(conn, first_seen), [{"key": k, "seen_at": when} for k in new]
            )
            found.update(dict.fromkeys(new, when))
    return found


def _chunks(values: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
