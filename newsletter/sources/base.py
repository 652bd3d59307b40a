"""Read every configured source: fetch (files or HTTP), parse, and report per source."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine

from newsletter import store
from newsletter.config import Settings, SourceSection
from newsletter.errors import SourceError
from newsletter.models import Item
from newsletter.sources import feed, handwritten
from newsletter.sources.fetch import Fetched, fetch_url, read_file


@dataclass(frozen=True, slots=True)
class SourceResult:
    source: SourceSection
    items: tuple[Item, ...] = ()
    error: SourceError | None = None
    failures_in_a_row: int = 0
    not_modified: bool = False
    warnings: tuple[str, ...] = field(default_factory=tuple)


def source_id(source: SourceSection) -> str:
    return source.url or source.path


def read_sources(settings: Settings, engine: Engine | None = None) -> list[SourceResult]:
    """Fetch and parse all sources concurrently; one broken source never stops the others."""
    if not settings.sources:
        return []
    workers = min(16, len(settings.sources))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda s: _read_one(settings, s, engine), settings.sources))


def _read_one(settings: Settings, source: SourceSection, engine: Engine | None) -> SourceResult:
    key = source_id(source)
    state = store.get_feed_state(engine, key) if engine is not None and source.url else None
    try:
        fetched = _fetch(settings, source, state)
        if fetched.not_modified and state:
            fetched = Fetched(
                body=state["body"].encode("utf-8"),
                base_url=fetched.base_url,
                etag=state["etag"],
                last_modified=state["last_modified"],
                not_modified=True,
            )
        items = _parse(settings, source, fetched)
    except SourceError as exc:
        failures = 1
        if engine is not None:
            store.record_feed(engine, key, error=exc.message)
            failures = (store.get_feed_state(engine, key) or {}).get("failures", 1)
        return SourceResult(source=source, error=exc, failures_in_a_row=failures)
    if engine is not None:
        body = fetched.body.decode("utf-8", "replace") if source.url else None
        store.record_feed(engine, key, etag=fetched.etag, last_modified=fetched.last_modified, body=body)
    if source.limit is not None:
        items = items[: source.limit]
    return SourceResult(source=source, items=tuple(items), not_modified=fetched.not_modified)


def _fetch(settings: Settings, source: SourceSection, state: dict | None) -> Fetched:
    if source.url:
        etag = state["etag"] if state and state.get("body") else ""
        modified = state["last_modified"] if state and state.get("body") else ""
        return fetch_url(source.url, name=source.name, etag=etag, last_modified=modified)
    return read_file(settings.path(source.path), name=source.name)


def _parse(settings: Settings, source: SourceSection, fetched: Fetched) -> list[Item]:
    if source.kind == "items" or Path(source.path or source.url).suffix.lower() == ".toml":
        return handwritten.parse_items(fetched.body, source, fetched.base_url)
    return feed.parse_feed(
        fetched.body, source=source, base_url=fetched.base_url, summary_length=settings.issue.summary_length
    )
