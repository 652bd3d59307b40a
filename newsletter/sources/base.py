"""Read every configured source: fetch (files or HTTP), parse, and report per source.

All sources are read at once from a thread pool sharing one ``Fetcher`` (one connection pool).
Per URL source the store keeps the ETag / Last-Modified and the last good body, so a 304 reuses
that body, and counts failures in a row, which `newsletter status` shows.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from newsletter import store
from newsletter.config import Settings, SourceSection
from newsletter.errors import SourceError
from newsletter.models import Item
from newsletter.sources import feed, handwritten
from newsletter.sources.fetch import Fetched, Fetcher, read_file
from newsletter.sources.page import try_page_image

WORKERS = 16


@dataclass(frozen=True, slots=True)
class SourceResult:
    source: SourceSection
    items: tuple[Item, ...] = ()
    error: SourceError | None = None
    failures_in_a_row: int = 0
    not_modified: bool = False


def source_id(source: SourceSection) -> str:
    return source.url or source.path


def read_sources(
    settings: Settings, engine: Engine | None = None, *, fetcher: Fetcher | None = None
) -> list[SourceResult]:
    """Fetch and parse all sources concurrently; one broken source never stops the others."""
    if not settings.sources:
        return []
    own = fetcher is None
    fetcher = fetcher or Fetcher(connections=WORKERS)
    try:
        workers = min(WORKERS, len(settings.sources))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(lambda s: _read_one(settings, s, engine, fetcher), settings.sources))
    finally:
        if own:
            fetcher.close()


def _read_one(
    settings: Settings, source: SourceSection, engine: Engine | None, fetcher: Fetcher
) -> SourceResult:
    key = source_id(source)
    state = store.get_feed_state(engine, key) if engine is not None and source.url else None
    try:
        fetched = _fetch(settings, source, state, fetcher)
        if fetched.not_modified:
            fetched = _stored(fetched, state, source)
        items = _parse(settings, source, fetched)
    except SourceError as exc:
        failures = 1
        if engine is not None:
            failures = store.record_feed_failure(engine, key, exc.message)
        return SourceResult(source=source, error=exc, failures_in_a_row=failures)
    if engine is not None:
        body = _encode_body(fetched.body) if source.url and not fetched.not_modified else None
        store.record_feed(engine, key, etag=fetched.etag, last_modified=fetched.last_modified, body=body)
    if source.limit is not None:
        items = items[: source.limit]
    return SourceResult(source=source, items=tuple(items), not_modified=fetched.not_modified)


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


def _parse(settings: Settings, source: SourceSection, fetched: Fetched) -> list[Item]:
    if source.kind == "items" or Path(source.path or source.url).suffix.lower() == ".toml":
        return handwritten.parse_items(fetched.body, source, fetched.base_url)
    return feed.parse_feed(
        fetched.body, source=source, base_url=fetched.base_url, summary_length=settings.issue.summary_length
    )


def add_page_images(items: Sequence[Item], *, fetcher: Fetcher | None = None) -> list[Item]:
    """Give each item without an image its article page's og:image, fetching pages concurrently."""
    missing = [i for i in items if not i.image]
    if not missing:
        return list(items)
    own = fetcher is None
    fetcher = fetcher or Fetcher(connections=WORKERS)
    try:
        with ThreadPoolExecutor(max_workers=min(WORKERS, len(missing))) as pool:
            found = dict(
                zip(
                    missing,
                    pool.map(lambda i: try_page_image(fetcher, i.link, name=i.source), missing),
                    strict=True,
                )
            )
    finally:
        if own:
            fetcher.close()
    return [replace(i, image=found[i]) if found.get(i) else i for i in items]
