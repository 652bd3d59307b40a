"""The period's window, one story once, and the headline / cards / further links selection.

A draft is stored per period as JSON: the candidate items found in the window and the editor's
choices. Selection applies the choices to the candidates each time, so re-collecting refreshes
the candidates and keeps the choices::

    {"candidates": [{"key", "placement", "item"}, ...],
     "choices": {"headline": key, "drop": [key], "order": [key], "add": [entry],
                 "placement": {key: "auto" | "links"}, "edits": {key: {"title": ...}}}}
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from newsletter import store
from newsletter.config import Settings
from newsletter.errors import CollectError
from newsletter.models import EDITABLE, Candidate, Draft, Issue, IssueState, Item, Period
from newsletter.sources import SourceResult, read_sources
from newsletter.sources.base import add_page_images, source_id
from newsletter.sources.fetch import Fetcher
from newsletter.sources.images import with_images

_TRACKING = re.compile(
    r"^(utm_.*|fbclid|gclid|dclid|gbraid|wbraid|msclkid|yclid|twclid|mc_cid|mc_eid|_hsenc|_hsmi|"
    r"hsctatracking|igshid|ref_src|ref_url|_ga|_gl|mkt_tok|oly_anon_id|oly_enc_id|vero_id|vero_conv|"
    r"wt\.mc_id|at_medium|at_campaign|cmpid|ncid|sr_share|spm)$",
    re.IGNORECASE,
)
_WORDS = re.compile(r"\W+")


def period_for(as_of: datetime, zone: ZoneInfo) -> Period:
    """The ISO week containing ``as_of`` (local time); the issue's cutoff is ``as_of`` itself.

    The period's start is where a first issue's window starts (``first_window_start``); later
    issues start at the previous issue's cutoff instead (``window_start``).
    """
    local = as_of.astimezone(zone)
    year, week, _ = local.isocalendar()
    return Period(key=f"{year}-W{week:02d}", start=first_window_start(local, zone), end=local)


def first_window_start(as_of: datetime, zone: ZoneInfo) -> datetime:
    """Where the first issue's window starts: midnight, local time, on the Monday of the ISO week
    before the one containing ``as_of``.

    A boundary the operator can predict, the same for every run in the period's week (a window
    starting at the moment of the run would lose that morning's stories a week back and move with
    every ``collect``), and never less than a full week back: a first issue sent on Friday holds
    the previous week and this one so far. Midnight is taken in the time zone, so a week across a
    DST change still starts at 00:00 local time.
    """
    local = as_of.astimezone(zone)
    monday = local.date() - timedelta(days=local.weekday())
    return datetime.combine(monday - timedelta(days=7), time(0), zone)


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
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host + (f":{port}" if port and port not in (80, 443) else "")
    scheme = "http" if parts.scheme.lower() in ("http", "https") else parts.scheme.lower()
    return urlunsplit((scheme, netloc, path, urlencode(sorted(query)), ""))


def title_key(title: str) -> str:
    """Two feeds' copies of one story share a title; short generic titles ("Update") are not compared."""
    words = _WORDS.sub(" ", title.casefold()).strip()
    return words if words.count(" ") >= 3 else ""


def window_start(engine: Engine, period: Period) -> datetime:
    """Since the previous sent issue's cutoff; the first issue (or the first after a pause of more
    than eight weeks) from the period's start, midnight on the Monday of the week before. An issue
    that rolled over since (too few items, not sent) hands on its window: its items are in this one."""
    oldest = period.start - timedelta(weeks=8)
    cutoff = store.issues.last_cutoff(engine, before=period.end)
    start = cutoff if cutoff is not None and cutoff > oldest else period.start
    rolled = store.issues.rolled_over_start(engine, after=start, before=period.end)
    return min(start, rolled) if rolled is not None and rolled > oldest else start


@dataclass(frozen=True, slots=True)
class Verdict:
    """Why one entry a source yielded is in the period's draft or not (`collect --explain`)."""

    source: str  # the source's name
    title: str
    link: str
    published: datetime | None
    key: str = ""  # the story key ("" without a link)
    reason: str = ""  # "" for an entry in the draft
    new: bool = False  # new for this issue: in its window, old enough, not sent, kept by the rules

    @property
    def is_in(self) -> bool:
        return not self.reason


def select_candidates(
    results: Iterable[SourceResult],
    start: datetime,
    end: datetime,
    seen: set[str],
    first_seen: Mapping[str, datetime] | None = None,
) -> list[Candidate]:
    """Items in (start, end], dated ones newest first then undated ones, each story once, none
    already sent in an earlier issue (``select`` says why of every entry)."""
    return select(results, start, end, seen, first_seen)[0]


def select(
    results: Iterable[SourceResult],
    start: datetime,
    end: datetime,
    seen: set[str],
    first_seen: Mapping[str, datetime] | None = None,
) -> tuple[list[Candidate], list[Verdict]]:
    """The candidates, and a verdict on every entry the sources yielded.

    An item's date is its published (else updated) date, else the time it was first seen. A source's
    ``min_age`` moves it later: an item is in the issue whose window holds its date plus min_age, so
    one too young at this cutoff is in the next issue's window, never lost between two. A source's
    ``limit`` keeps its newest new stories.
    """
    first_seen = first_seen or {}
    results = list(results)
    verdicts = [
        Verdict(r.source.name, o.title, o.link, o.published, story_key(o.link) if o.link else "", o.reason)
        for r in results
        for o in r.left_out
    ]
    found: list[tuple[bool, datetime, int, Item, SourceResult, str]] = []
    for order, result in enumerate(results):
        for item in result.items:
            key = story_key(item.link)
            when = item.published or min(first_seen.get(key, end), end)
            ripe = when + result.source.settle
            why = _out_of_window(when, ripe, start, end, result.source.min_age)
            if not why and key in seen:
                why = "already sent in an earlier issue"
            if why:
                verdicts.append(Verdict(item.source, item.title, item.link, item.published, key, why))
            else:
                found.append((item.published is not None, when, order, item, result, key))
    # Undated items (no date in the feed, or one that does not parse) are placed after every dated
    # story, newest first-seen first among themselves. Their first-seen time decides whether they
    # are new (in the window) but says nothing of when they were published: usually it is this very
    # run, and ranked by it they would come first and take the headline from the week's real news.
    # The editor can still pin one as the headline. Where the same story comes dated and undated,
    # the dated copy is the one kept.
    found.sort(key=lambda f: (f[0], f[1], -f[2]), reverse=True)
    kept: dict[str, Item] = {}  # story key -> the item kept
    titles: dict[str, Item] = {}
    per_source: dict[int, int] = {}
    out = []
    for _dated, _when, order, item, result, key in found:
        tkey = title_key(item.title)
        twin = kept.get(key) or (titles.get(tkey) if tkey else None)
        limit = result.source.limit
        if twin is not None:
            why = f"duplicate of {twin.title!r} ({twin.source})"
        elif limit is not None and per_source.get(order, 0) >= limit:
            why = f"over the source's limit of {limit}"
        else:
            why = ""
            kept[key] = item
            titles.setdefault(tkey, item)
            per_source[order] = per_source.get(order, 0) + 1
            out.append(Candidate(key, item, result.source.placement))
        verdicts.append(Verdict(item.source, item.title, item.link, item.published, key, why, new=True))
    return out, verdicts


def _out_of_window(when: datetime, ripe: datetime, start: datetime, end: datetime, min_age: str) -> str:
    if when > end:
        return "outside the window (after the issue's cutoff)"
    if ripe > end:
        return f"too young (min_age {min_age}): waits for the next issue"
    if ripe <= start:
        return "outside the window"
    return ""


def collect(
    settings: Settings,
    engine: Engine,
    as_of: datetime,
    *,
    now: datetime | None = None,
    fetcher: Fetcher | None = None,
) -> tuple[Issue, list[SourceResult]]:
    """Read the sources and build (or refresh) the period's draft; return the issue it yields.

    ``now`` is when undated items count as first seen (default: the clock); ``fetcher`` lets a
    caller share one HTTP client and its caps.
    """
    found = collect_explained(settings, engine, as_of, now=now, fetcher=fetcher)
    return found.issue, found.results


@dataclass(frozen=True, slots=True)
class Collected:
    issue: Issue
    results: list[SourceResult]
    verdicts: list[Verdict]  # none when the draft is frozen (being sent, or sent): nothing was read


def collect_explained(
    settings: Settings,
    engine: Engine,
    as_of: datetime,
    *,
    now: datetime | None = None,
    fetcher: Fetcher | None = None,
) -> Collected:
    """``collect``, with a verdict on every entry the sources yielded (`collect --explain`)."""
    period = period_for(as_of, settings.zone)
    existing = store.issues.get(engine, period.key)
    if existing is not None and existing.state != IssueState.DRAFT:
        frozen = issue_from_draft(settings, period_of(existing, settings.zone), existing.draft)
        return Collected(frozen, [], [])
    if not settings.sources:
        raise CollectError("no sources are configured", hint="add a [[sources]] table with a url or a path")
    start = window_start(engine, period)
    period = Period(key=period.key, start=start, end=period.end)
    # Feeds yield the window's entries (and undated ones), however many: an archive feed's old
    # entries cost nothing more, and a busy feed's week is never cut short.
    results = read_sources(settings, engine, fetcher=fetcher, window=(start, period.end))
    if all(r.error for r in results):
        reasons = "; ".join(str(r.error.message) for r in results if r.error)
        raise CollectError(
            f"every source failed: {reasons}", hint="check the sources' URLs and this machine's network"
        )
    undated = [story_key(i.link) for r in results for i in r.items if i.published is None]
    seen_at = min(now or datetime.now(UTC), period.end)
    first = store.feeds.first_seen_times(engine, undated, seen_at)
    candidates, verdicts = select(results, start, period.end, store.issues.seen_keys(engine), first)
    _remember_new(engine, results, verdicts, period.end)
    previous = existing.draft if existing else Draft()
    candidates = _with_page_images(settings, candidates, previous.candidates, fetcher)
    draft = Draft(candidates, previous.choices)
    store.issues.save_draft(engine, period.key, period.start, period.end, draft)
    issue = with_images(settings, issue_from_draft(settings, period, draft), fetcher)
    return Collected(issue, results, verdicts)


def _remember_new(engine: Engine, results: list[SourceResult], verdicts: list[Verdict], at: datetime) -> None:
    """How many new entries each source read gave this issue (a source quiet too long is reported)."""
    new = {source_id(r.source): 0 for r in results if r.error is None}
    names = {r.source.name: source_id(r.source) for r in results if r.error is None}
    for verdict in verdicts:
        if verdict.new and verdict.source in names:
            new[names[verdict.source]] += 1
    store.feeds.record_new(engine, new, at)


def _with_page_images(
    settings: Settings,
    candidates: list[Candidate],
    previous: Sequence[Candidate],
    fetcher: Fetcher | None,
) -> list[Candidate]:
    """For sources with ``og_image = true``: fill in missing images from the article pages, once per story."""
    wanted = {s.name for s in settings.sources if s.og_image}
    if not wanted:
        return candidates
    known = {c.key: c.item.image for c in previous}
    candidates = [
        replace(c, item=replace(c.item, image=known[c.key])) if not c.item.image and known.get(c.key) else c
        for c in candidates
    ]
    todo = [
        n
        for n, c in enumerate(candidates)
        if c.item.source in wanted and not c.item.image and c.key not in known
    ]
    if todo:
        found = add_page_images([candidates[n].item for n in todo], fetcher=fetcher)
        for n, item in zip(todo, found, strict=True):
            candidates[n] = replace(candidates[n], item=replace(candidates[n].item, image=item.image))
    return candidates


def period_of(row: store.issues.IssueRow, zone: ZoneInfo | None = None) -> Period:
    """A stored issue's period, in ``zone`` (the newsletter's time zone) when given."""
    start, end = row.period_start, row.period_end
    if zone is not None:
        start, end = start.astimezone(zone), end.astimezone(zone)
    return Period(key=row.period_key, start=start, end=end)


def arrange(draft: Draft) -> tuple[list[Candidate], list[Candidate]]:
    """The editor's choices applied to the candidates: (main entries, further-link entries), in order.

    Default order: newest first, videos after the other stories. Keys the editor ordered come
    first, in the editor's order; an entry's placement and fields may be overridden.
    """
    choices = draft.choices
    dropped = set(choices.drop)
    entries = []
    for entry in draft.entries():
        if entry.key in dropped:
            continue
        edits = {k: v for k, v in choices.edits.get(entry.key, {}).items() if k in EDITABLE}
        item = replace(entry.item, **edits) if edits else entry.item
        entries.append(Candidate(entry.key, item, choices.placement.get(entry.key, entry.placement)))
    entries.sort(key=lambda e: e.item.is_video)
    rank = {key: n for n, key in enumerate(choices.order)}
    entries.sort(key=lambda e: rank.get(e.key, len(rank)))
    pinned = choices.headline
    main = [e for e in entries if e.placement != "links" or e.key == pinned]
    links = [e for e in entries if e.placement == "links" and e.key != pinned]
    return main, links


def issue_from_draft(settings: Settings, period: Period, draft: Draft) -> Issue:
    """Apply the editor's choices to the candidates, then split into headline, cards and links."""
    main, linked = arrange(draft)
    pinned = draft.choices.headline
    head = next((e for e in main if e.key == pinned), None)
    head = head or next((e for e in main if not e.item.is_video), main[0] if main else None)
    rest = [e for e in main if e is not head]
    max_cards = settings.issue.max_cards
    cards, overflow = rest[:max_cards], rest[max_cards:]
    rank = {key: n for n, key in enumerate(draft.choices.order)}
    links = sorted(overflow + linked, key=lambda e: rank.get(e.key, len(rank)))
    return Issue(
        period=period,
        headline=head.item if head else None,
        cards=tuple(e.item for e in cards),
        links=tuple(e.item for e in links[: settings.issue.max_links]),
    )
