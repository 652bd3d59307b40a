"""Read every configured source: fetch (files or HTTP), parse, and report per source.

All sources are fetched at once from a thread pool sharing one ``Fetcher`` (one connection pool).
Parsing is CPU-bound (feedparser spends about 0.4 ms per item), so with many feeds it runs in a
small pool of worker processes, forked before any fetch thread starts. Per URL source the store
keeps the ETag / Last-Modified and the last good body, so a 304 reuses that body, and counts
failures in a row, which `newsletter status` shows. The store is read once before the fetches
and written once after them.

Given the issue's window, feeds yield only its entries (and undated ones), however many. A source
whose URL is a web page is read through the feed the page announces, as feed readers do, with a
note saying so; the notes of a run, like its errors, reach the operator through
``source_warnings``.
"""

from __future__ import annotations

import base64
import binascii
import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from newsletter import store
from newsletter.config import Settings, SourceSection
from newsletter.errors import SourceError
from newsletter.models import Item
from newsletter.sources import feed, handwritten
from newsletter.sources.fetch import Fetched, Fetcher, read_file
from newsletter.sources.filters import LeftOut, left_out_by
from newsletter.sources.page import announced_feeds, try_page_image

WORKERS = 16
# Below this many sources, parsing in this process is faster than starting worker processes.
PARALLEL_FROM = 8


@dataclass(frozen=True, slots=True)
class SourceResult:
    source: SourceSection
    items: tuple[Item, ...] = ()
    error: SourceError | None = None
    failures_in_a_row: int = 0
    not_modified: bool = False
    fetched: Fetched | None = None  # what was read, for the store
    notes: tuple[str, ...] = ()  # what the operator should know though the source was read
    left_out: tuple[LeftOut, ...] = ()  # entries read and left out, with the reason (collect --explain)
    entries: int = 0  # entries in the source, whatever their date


# A window: items dated in (start, end] are wanted; None reads every entry.
Window = tuple[datetime, datetime] | None
# What parsing returns across the process boundary: items, notes, the error's (message, hint, is a
# web page) or None, the entries left out and the number of entries.
_Parsed = tuple[list[Item], list[str], tuple[str, str | None, bool] | None, list[LeftOut], int]


def source_warnings(results: Sequence[SourceResult]) -> list[str]:
    """The lines to show the operator after a run: each failed source's error (with its failures in
    a row), then each source's notes (a page read through its feed, entries left out)."""
    lines = []
    for result in results:
        if result.error is not None:
            text = str(result.error)
            if result.failures_in_a_row > 1:
                text += f" (failed {result.failures_in_a_row} runs in a row)"
            lines.append(text)
    lines += [note for result in results for note in result.notes]
    return lines


def source_id(source: SourceSection) -> str:
    return source.url or source.path


def read_sources(
    settings: Settings,
    engine: Engine | None = None,
    *,
    fetcher: Fetcher | None = None,
    window: Window = None,
) -> list[SourceResult]:
    """Fetch and parse all sources concurrently; one broken source never stops the others.

    With a ``window`` (start, end], a feed's entries dated outside it are skipped while parsing.
    """
    if not settings.sources:
        return []
    states = (
        store.feeds.states(engine, [s.url for s in settings.sources if s.url]) if engine is not None else {}
    )
    parsers = _parser_pool(len(settings.sources))
    own = fetcher is None
    fetcher = fetcher or Fetcher(connections=WORKERS)
    try:
        with ThreadPoolExecutor(max_workers=min(WORKERS, len(settings.sources))) as pool:
            results = list(
                pool.map(
                    lambda s: _read_one(settings, s, states.get(s.url), fetcher, parsers, window),
                    settings.sources,
                )
            )
    finally:
        if own:
            fetcher.close()
        if parsers is not None:
            parsers.shutdown(cancel_futures=True)
    if engine is not None:
        results = _remember(engine, results)
    return results


def _parser_pool(sources: int) -> Executor | None:
    """Worker processes for parsing, forked now (before any fetch thread exists); None for few sources."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if sources < PARALLEL_FROM or cpus < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return None
    pool = ProcessPoolExecutor(max_workers=min(cpus, 4), mp_context=multiprocessing.get_context("fork"))
    pool.submit(int).result()  # with "fork", the first submit starts every worker
    return pool


def _read_one(
    settings: Settings,
    source: SourceSection,
    state: dict[str, Any] | None,
    fetcher: Fetcher,
    parsers: Executor | None,
    window: Window = None,
) -> SourceResult:
    try:
        fetched = _fetch(settings, source, state, fetcher)
        if fetched.not_modified:
            fetched = _stored(fetched, state, source)
        if window is not None:
            # An entry held back by min_age at the last cutoff is read again now (collect.select).
            window = (window[0] - source.settle, window[1])
        parsed = _parse_in(parsers, source, fetched, settings.issue.summary_length, window)
        error = parsed[2]
        if error is not None and error[2]:
            fetched, parsed = _through_announced_feed(
                settings, source, fetched, fetcher, parsers, window, error
            )
        elif error is not None:
            raise SourceError(error[0], error[1])
    except BrokenProcessPool:
        crashed = SourceError(
            f"source {source.name!r}: the feed parser crashed", hint="open the feed: it may be corrupt"
        )
        return SourceResult(source=source, error=crashed, failures_in_a_row=1)
    except SourceError as exc:
        return SourceResult(source=source, error=exc, failures_in_a_row=1)
    items, notes, _, left_out, entries = parsed
    return SourceResult(
        source=source,
        items=tuple(items),
        not_modified=fetched.not_modified,
        fetched=fetched,
        notes=tuple(notes),
        left_out=tuple(left_out),
        entries=entries,
    )


def _parse_in(
    parsers: Executor | None, source: SourceSection, fetched: Fetched, summary_length: int, window: Window
) -> _Parsed:
    job = (source, fetched.body, fetched.base_url, summary_length, window)
    return parsers.submit(_parse, *job).result() if parsers else _parse(*job)


def _through_announced_feed(
    settings: Settings,
    source: SourceSection,
    page: Fetched,
    fetcher: Fetcher,
    parsers: Executor | None,
    window: Window,
    error: tuple[str, str | None, bool],
) -> tuple[Fetched, _Parsed]:
    """The source is a web page: read the first RSS or Atom feed it announces, as feed readers do.

    The feed is fetched whole each run (its validators would not fit the page's URL they are
    stored under); the note tells the operator to use the feed's URL, which fixes that too.
    """
    feeds = announced_feeds(page.body, page.base_url)
    where = source.url or source.path
    if not feeds:
        raise SourceError(
            f"source {source.name!r}: {where} is a web page (HTML), not an RSS or Atom feed, "
            "and it announces no feed",
            hint="open the page in a browser and find its feed (a link or an RSS icon; often /feed, "
            "/rss or /atom.xml), then give that address as the source's url",
        )
    feed_url = feeds[0]
    if not source.url:
        raise SourceError(error[0], hint=f'the page announces the feed {feed_url}: use url = "{feed_url}"')
    try:
        fetched = replace(fetcher.fetch(feed_url, name=source.name), etag="", last_modified="")
        parsed = _parse_in(parsers, source, fetched, settings.issue.summary_length, window)
        if parsed[2] is not None:
            raise SourceError(parsed[2][0], parsed[2][1])
    except SourceError as exc:
        reason = exc.message.removeprefix(f"source {source.name!r}: ")
        raise SourceError(
            f"source {source.name!r}: {where} is a web page, and the feed it announces, {feed_url}, "
            f"cannot be read: {reason}",
            hint=exc.hint or f"open {feed_url} in a browser",
        ) from exc
    note = (
        f"source {source.name!r}: {where} is a web page; reading the feed it announces, {feed_url} "
        f'(set url = "{feed_url}" in this [[sources]] table to read it directly)'
    )
    return fetched, (parsed[0], [note, *parsed[1]], None, parsed[3], parsed[4])


def _fetch(
    settings: Settings, source: SourceSection, state: dict[str, Any] | None, fetcher: Fetcher
) -> Fetched:
    if source.url:
        known = bool(state and state.get("body"))  # validators are useless without the body they cover
        return fetcher.fetch(
            source.url,
            name=source.name,
            etag=state["etag"] if state and known else "",
            last_modified=state["last_modified"] if state and known else "",
        )
    return read_file(settings.path(source.path), name=source.name)


def _stored(fetched: Fetched, state: dict[str, Any] | None, source: SourceSection) -> Fetched:
    """A 304: the body is the one stored at the last good fetch."""
    body = _decode_body(state["body"]) if state else None
    if state is None or body is None:
        raise SourceError(
            f"source {source.name!r}: {source.url} answered 304 Not Modified but no earlier copy is stored",
            hint="it will be fetched whole next run",
        )
    return replace(
        fetched,
        body=body,
        etag=fetched.etag or state["etag"],
        last_modified=fetched.last_modified or state["last_modified"],
    )


def _parse(
    source: SourceSection, body: bytes, base_url: str, summary_length: int, window: Window = None
) -> _Parsed:
    """Bytes -> items, notes and the entries left out, or the error's (message, hint, is a web
    page): runs in a worker process, so nothing raises out."""
    try:
        if source.kind == "items" or Path(source.path or source.url).suffix.lower() == ".toml":
            items = handwritten.parse_items(body, source, base_url)
            kept, left_out = [], []
            for item in items:
                reason = left_out_by(source, item.title, item.summary, None)
                if reason:
                    left_out.append(LeftOut(item.title, item.link, item.published, reason))
                else:
                    kept.append(item)
            return kept, [], None, left_out, len(items)
        found = feed.read_feed(
            body, source=source, base_url=base_url, summary_length=summary_length, window=window
        )
        return found.items, found.notes, None, found.left_out, found.entries
    except SourceError as exc:
        return [], [], (exc.message, exc.hint, isinstance(exc, feed.WebPageError)), [], 0


def _remember(engine: Engine, results: list[SourceResult]) -> list[SourceResult]:
    """Record every source's outcome in one transaction; fill in the failures in a row."""
    outcomes: list[dict[str, Any]] = []
    for result in results:
        key = source_id(result.source)
        if result.error is not None:
            outcomes.append({"source": key, "error": result.error.message})
        elif result.fetched is not None:
            fetched = result.fetched
            keep = result.source.url and not fetched.not_modified
            outcomes.append(
                {
                    "source": key,
                    "etag": fetched.etag,
                    "last_modified": fetched.last_modified,
                    "body": _encode_body(fetched.body) if keep else None,
                    "entries": result.entries,
                }
            )
    failures = store.feeds.record(engine, outcomes)
    return [
        replace(r, failures_in_a_row=failures.get(source_id(r.source), 0) if r.error else 0, fetched=None)
        for r in results
    ]


def _encode_body(body: bytes) -> str:
    # The body is kept as bytes (base64): feeds declare their own encoding, which text would lose.
    return "b64:" + base64.b64encode(body).decode("ascii")


def _decode_body(text: str) -> bytes | None:
    if not text:
        return None
    if not text.startswith("b64:"):
        return text.encode("utf-8")
    try:
        return base64.b64decode(text[4:])
    except (binascii.Error, ValueError):
        return None


def add_page_images(items: Sequence[Item], *, fetcher: Fetcher | None = None) -> list[Item]:
    """Give each item without an image its article page's og:image, fetching pages concurrently."""
    missing = [i for i in items if not i.image]
    if not missing:
        return list(items)
    own = fetcher is None
    fetcher = fetcher or Fetcher(connections=WORKERS)
    try:
        with ThreadPoolExecutor(max_workers=min(WORKERS, len(missing))) as pool:
            images = pool.map(lambda i: try_page_image(fetcher, i.link, name=i.source), missing)
            found = dict(zip(missing, images, strict=True))
    finally:
        if own:
            fetcher.close()
    return [replace(i, image=found[i]) if found.get(i) else i for i in items]
