"""The period's window, one story once, and the headline / cards / further links selection.

A draft is stored per period as JSON: the candidate items found in the window and the editor's
choices (pin a headline, drop, move, add). Selection applies the choices to the candidates each
time, so re-collecting refreshes the candidates and keeps the choices.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from newsletter import store
from newsletter.config import Settings
from newsletter.errors import CollectError
from newsletter.models import Issue, Item, Period
from newsletter.sources import SourceResult, read_sources

_TRACKING = re.compile(
    r"^(utm_.*|fbclid|gclid|dclid|mc_cid|mc_eid|_hsenc|_hsmi|igshid|ref_src)$", re.IGNORECASE
)
_WORDS = re.compile(r"\W+")


def period_for(as_of: datetime, zone: ZoneInfo) -> Period:
    """The ISO week containing ``as_of`` (local time); the issue's cutoff is ``as_of`` itself."""
    local = as_of.astimezone(zone)
    year, week, _ = local.isocalendar()
    # One period back in wall-clock terms, so a week across a DST change is still Monday 00:00 local.
    start = datetime.combine(local.date() - timedelta(days=7), local.timetz().replace(tzinfo=None), zone)
    return Period(key=f"{year}-W{week:02d}", start=start, end=local)


def as_of_moment(day: date | None, zone: ZoneInfo, now: datetime | None = None) -> datetime:
    """``--as-of DATE`` means the end of that day, local time; no date means now."""
    if day is None:
        return (now or datetime.now(zone)).astimezone(zone)
    return datetime.combine(day + timedelta(days=1), time(0), zone) - timedelta(microseconds=1)


def story_key(link: str) -> str:
    """The same story under different URLs: no tracking parameters, fragment, trailing slash, or case in host."""
    parts = urlsplit(link.strip())
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING.match(k)]
    path = parts.path.rstrip("/") or "/"
    host = (parts.hostname or "").lower()
    if host.startswith("www."):
        host = host[4:]
    netloc = host + (f":{parts.port}" if parts.port and parts.port not in (80, 443) else "")
    scheme = "http" if parts.scheme.lower() in ("http", "https") else parts.scheme.lower()
    return urlunsplit((scheme, netloc, path, urlencode(sorted(query)), ""))


def title_key(title: str) -> str:
    return _WORDS.sub(" ", title.casefold()).strip()


def window_start(engine: Engine, period: Period) -> datetime:
    """Since the previous sent issue's cutoff; the first issue takes one period back."""
    cutoff = store.last_cutoff(engine, before=period.end)
    return cutoff if cutoff is not None and cutoff > period.start - timedelta(weeks=8) else period.start


def select_candidates(
    results: Iterable[SourceResult], start: datetime, end: datetime, seen: set[str]
) -> list[dict[str, Any]]:
    """Items in [start, end), newest first, each story once, none already sent in an earlier issue."""
    found: list[tuple[datetime, int, Item, str]] = []
    for order, result in enumerate(results):
        for item in result.items:
            when = item.published or end
            if start <= when <= end:
                found.append((when, order, item, result.source.placement))
    found.sort(key=lambda f: (f[0], -f[1]), reverse=True)
    links_seen: set[str] = set(seen)
    titles_seen: set[str] = set()
    out = []
    for _when, _order, item, placement in found:
        key, tkey = story_key(item.link), title_key(item.title)
        if key in links_seen or tkey in titles_seen:
            continue
        links_seen.add(key)
        titles_seen.add(tkey)
        out.append({"key": key, "placement": placement, "item": item.to_dict()})
    return out


def collect(settings: Settings, engine: Engine, as_of: datetime) -> tuple[Issue, list[SourceResult]]:
    """Read the sources and build (or refresh) the period's draft; return the issue it yields."""
    period = period_for(as_of, settings.zone)
    existing = store.get_issue(engine, period.key)
    if existing is not None and existing.state != "draft":
        return issue_from_draft(settings, period_of(existing), existing.draft), []
    results = read_sources(settings, engine)
    if results and all(r.error for r in results):
        reasons = "; ".join(str(r.error.message) for r in results if r.error)
        raise CollectError(
            f"every source failed: {reasons}", hint="check the sources' URLs and this machine's network"
        )
    start = window_start(engine, period)
    period = Period(key=period.key, start=start, end=period.end)
    candidates = select_candidates(results, start, period.end, store.seen_keys(engine))
    choices = existing.draft.get("choices", {}) if existing else {}
    draft = {"candidates": candidates, "choices": choices}
    store.save_draft(engine, period.key, period.start, period.end, draft)
    return issue_from_draft(settings, period, draft), results


def period_of(row: store.IssueRow) -> Period:
    return Period(key=row.period_key, start=row.period_start, end=row.period_end)


def issue_from_draft(settings: Settings, period: Period, draft: dict[str, Any]) -> Issue:
    """Apply the editor's choices to the candidates, then split into headline, cards and links."""
    choices = draft.get("choices", {})
    dropped = set(choices.get("drop", []))
    entries = [c for c in draft.get("candidates", []) if c["key"] not in dropped]
    entries += [a for a in choices.get("add", []) if a["key"] not in dropped]
    entries = _apply_order(entries, choices.get("order", []))
    pinned = choices.get("headline")
    linked = [Item.from_dict(e["item"]) for e in entries if e.get("placement") == "links"]
    main = [e for e in entries if e.get("placement") != "links"]
    if pinned:
        main.sort(key=lambda e: e["key"] != pinned)
    items = [Item.from_dict(e["item"]) for e in main]
    headline = next((i for i in items if not i.is_video), items[0] if items else None)
    rest = [i for i in items if i is not headline]
    rest.sort(key=lambda i: i.is_video)  # videos close the cards, as in the digest
    max_cards = settings.issue.max_cards
    cards, overflow = rest[:max_cards], rest[max_cards:]
    links = (overflow + linked)[: settings.issue.max_links]
    return Issue(period=period, headline=headline, cards=tuple(cards), links=tuple(links))


def _apply_order(entries: Sequence[dict[str, Any]], order: Sequence[str]) -> list[dict[str, Any]]:
    """Keys the editor placed come first, in the editor's order; the rest keep theirs."""
    rank = {key: n for n, key in enumerate(order)}
    return sorted(entries, key=lambda e: rank.get(e["key"], len(rank)))
