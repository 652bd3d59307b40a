"""Feed health: which sources the editors should hear about, once, and what to tell them.

A source is *failing* once it could not be read ``[feeds] alert_after`` times in a row, and *quiet*
once it has given nothing new for the issue in ``[feeds] quiet_after`` periods (a feed the publisher
stopped updating, or rules that leave everything out). The store keeps what the editors were last
told of each source (``feed_state.alerted``): a notice is due only when that differs from the
source's state now, so each change is told once, a recovery included. The caller marks a notice as
told only after its email went (``store.feeds.set_alerted``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from newsletter import store
from newsletter.config import Settings, SourceSection
from newsletter.sources.base import source_id
from newsletter.store.database import aware

FAILING = "failing"
QUIET = "quiet"


@dataclass(frozen=True, slots=True)
class Notice:
    """What to tell the editors of one source; ``state`` is what they know once it is sent."""

    source: str  # the source's URL or path, as the store keys it
    state: str  # FAILING, QUIET, or "" (all well again)
    subject: str
    body: str


def state_of(settings: Settings, row: dict[str, Any], as_of: datetime) -> str:
    """FAILING, QUIET or "" for a source's stored row, at the cutoff ``as_of``."""
    if int(row.get("failures") or 0) >= settings.feeds.alert_after:
        return FAILING
    last_new = aware(row.get("last_new_at"))
    quiet = settings.feeds.quiet_after
    if quiet and last_new is not None and as_of - last_new >= timedelta(weeks=quiet):
        return QUIET
    return ""


def notices(settings: Settings, engine: Engine, as_of: datetime) -> list[Notice]:
    """The notices due for the configured sources: each a change since the editors were last told."""
    rows = store.feeds.states(engine, [source_id(s) for s in settings.sources])
    due = []
    for source in settings.sources:
        row = rows.get(source_id(source))
        if row is None:
            continue
        now = state_of(settings, row, as_of)
        if now != (row.get("alerted") or ""):
            due.append(_notice(settings, source, row, now))
    return due


def _notice(settings: Settings, source: SourceSection, row: dict[str, Any], state: str) -> Notice:
    where = source_id(source)
    name = f"source {source.name!r}"
    last_read = _when(settings, row.get("last_success_at"))
    if state == FAILING:
        return Notice(
            where,
            state,
            f"{name} cannot be read",
            f"The {name} ({where}) could not be read {row['failures']} times in a row.\n"
            f"Last read: {last_read}.\nLast error: {row['last_error']}\n\n"
            "What to try: open the address in a browser (has the feed moved, or does it need a new URL?); "
            "fix url or path in the [[sources]] table; `newsletter collect --explain` reads the sources "
            "and shows what each gives. Meanwhile the issue goes out without this source's items.\n\n"
            "You will hear once more when it can be read again.\n",
        )
    if state == QUIET:
        since = _when(settings, row.get("last_new_at"))
        return Notice(
            where,
            state,
            f"{name} has had nothing new for {settings.feeds.quiet_after} weeks",
            f"The {name} ({where}) has given nothing new for the issue since {since}, though it can be "
            f"read (last read: {last_read}, {row.get('entries', 0)} entries).\n\n"
            "What to try: open it and see whether the publisher still updates it or has moved it; "
            "`newsletter collect --explain` shows each of its entries and why it is left out (too old, "
            "already sent, or the source's include, exclude, categories or min_age).\n\n"
            "You will hear once more when it has something new.\n",
        )
    told = row.get("alerted")
    back = "can be read again" if told == FAILING else "has something new again"
    return Notice(where, "", f"{name} {back}", f"The {name} ({where}) {back}: its items are in the issue.\n")


def _when(settings: Settings, value: datetime | None) -> str:
    moment = aware(value)
    return f"{moment.astimezone(settings.zone):%Y-%m-%d %H:%M %Z}" if moment else "never"
