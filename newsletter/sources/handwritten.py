"""A hand-written items file (TOML): an announcement or a video that is in no feed.

[[items]]
title = "Our annual report is out"
link = "https://example.org/report"
summary = "Two pages on what we did this year."
date = 2023-11-16            # a TOML date or date-time; without one, the time it was first seen
image = "https://example.org/report.jpg"
video = false                # true: shown as a video ("Watch Video")
label = ""                   # default: the source's label
"""

from __future__ import annotations

import tomllib
from datetime import UTC, date, datetime, time

from newsletter.config import SourceSection
from newsletter.errors import SourceError
from newsletter.models import Item
from newsletter.sources.feed import clean_text, safe_url

_KEYS = {"title", "link", "summary", "date", "image", "video", "label"}


def parse_items(body: bytes, source: SourceSection, base_url: str) -> list[Item]:
    try:
        data = tomllib.loads(body.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SourceError(
            f"source {source.name!r}: {source.path or source.url} is not valid TOML: {exc}"
        ) from exc
    items = []
    for number, raw in enumerate(data.get("items", []), start=1):
        where = f"source {source.name!r}: items[{number}]"
        unknown = set(raw) - _KEYS
        if unknown:
            raise SourceError(
                f"{where}: unknown key {sorted(unknown)[0]}", hint=f"keys are {', '.join(sorted(_KEYS))}"
            )
        link = safe_url(str(raw.get("link", "")), base_url, allow_file=False)
        if not raw.get("title") or not link:
            raise SourceError(f"{where}: needs a title and an http(s) link")
        items.append(
            Item(
                title=clean_text(str(raw["title"])),
                link=link,
                summary=clean_text(str(raw.get("summary", ""))),
                published=_when(raw.get("date")),
                source=source.name,
                label=str(raw.get("label", source.label)),
                image=safe_url(str(raw.get("image", "")), base_url, allow_file=base_url.startswith("file:")),
                is_video=bool(raw.get("video", False)) or source.label.lower() == "video",
            )
        )
    return items


def _when(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(12, 0), UTC)
    return None
