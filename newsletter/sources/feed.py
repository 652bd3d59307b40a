"""RSS 0.9x/1.0/2.0 and Atom bytes -> Items, with feedparser (always from bytes, never a URL or path)."""

from __future__ import annotations

import calendar
import html
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser
import nh3

from newsletter.config import SourceSection
from newsletter.errors import SourceError
from newsletter.models import Item

_SPACE = re.compile(r"\s+")
_IMG = re.compile(r"<img\b[^>]*?\bsrc\s*=\s*[\"']([^\"']+)[\"']", re.IGNORECASE)
_SENTENCE_END = re.compile(r"[.!?…][\"'”’)]?\s")
MAX_ENTRIES = 500
MAX_FIELD_CHARS = 100_000


def parse_feed(body: bytes, *, source: SourceSection, base_url: str, summary_length: int = 300) -> list[Item]:
    """Parse a feed's bytes. A malformed feed is still used when entries parse."""
    try:
        parsed = feedparser.parse(body, response_headers={"content-location": base_url})
    except Exception as exc:  # feedparser raises a wide variety on hostile input
        raise SourceError(f"source {source.name!r}: the feed could not be parsed: {exc}") from exc
    entries = parsed.get("entries") or []
    if not entries:
        if parsed.get("bozo"):
            reason = parsed.get("bozo_exception")
            raise SourceError(
                f"source {source.name!r}: not a readable feed ({reason})",
                hint="open the URL or file: it should be RSS or Atom XML",
            )
        if not parsed.get("version") and not parsed.get("feed"):
            raise SourceError(
                f"source {source.name!r}: not an RSS or Atom feed",
                hint="open the URL or file: it should be RSS or Atom XML",
            )
        return []
    allow_file = base_url.startswith("file:")
    items = []
    for entry in entries[:MAX_ENTRIES]:
        item = _item(entry, source, base_url, summary_length, allow_file)
        if item is not None:
            items.append(item)
    return items


def _item(
    entry: Any, source: SourceSection, base_url: str, summary_length: int, allow_file: bool
) -> Item | None:
    link = safe_url(_text(entry.get("link")), base_url, allow_file=False)
    title = clean_text(_text(entry.get("title")))
    if not link or not title:
        return None
    content = _content_html(entry)
    summary = clean_text(_text(entry.get("summary")) or content)
    return Item(
        title=title,
        link=link,
        summary=shorten(summary, summary_length),
        published=_date(entry),
        source=source.name,
        label=source.label,
        image=_image(entry, content, base_url, allow_file),
        is_video=_is_video(entry, source),
    )


def _text(value: Any) -> str:
    return value[:MAX_FIELD_CHARS] if isinstance(value, str) else ""


def _content_html(entry: Any) -> str:
    for part in entry.get("content") or []:
        value = _text(part.get("value"))
        if value:
            return value
    return ""


def clean_text(value: str) -> str:
    """HTML -> plain text: tags removed by nh3, entities decoded, whitespace collapsed."""
    if "<" in value or "&" in value:
        value = html.unescape(nh3.clean(value, tags=set()))
    return _SPACE.sub(" ", value).strip()


def shorten(text: str, limit: int) -> str:
    """Cut ``text`` to ``limit`` characters at a sentence end, else a word boundary, with an ellipsis."""
    if len(text) <= limit:
        return text
    window = text[: limit + 1]
    ends = [m.end() for m in _SENTENCE_END.finditer(window)]
    if ends and ends[-1] >= limit // 2:
        return window[: ends[-1]].strip()
    cut = window.rfind(" ")
    if cut < limit // 2:
        cut = limit
    return window[:cut].rstrip(" ,;:-–—") + "…"


def safe_url(url: str, base_url: str, *, allow_file: bool) -> str:
    """Resolve ``url`` against the feed's URL; keep only http(s) (and file: for local example feeds)."""
    url = url.strip()
    if not url:
        return ""
    absolute = urljoin(base_url, url)
    scheme = urlsplit(absolute).scheme.lower()
    if scheme in ("http", "https") or (allow_file and scheme == "file"):
        return absolute
    return ""


def _date(entry: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(key)
        if value:
            try:
                return datetime.fromtimestamp(calendar.timegm(value), UTC)
            except (OverflowError, ValueError, OSError):
                continue
    return None


def _image(entry: Any, content: str, base_url: str, allow_file: bool) -> str:
    candidates: list[str] = []
    for media in entry.get("media_content") or []:
        if media.get("medium", "image") == "image" or str(media.get("type", "")).startswith("image/"):
            candidates.append(media.get("url", ""))
    candidates += [m.get("url", "") for m in entry.get("media_thumbnail") or []]
    for link in entry.get("links") or []:
        if link.get("rel") == "enclosure" and str(link.get("type", "")).startswith("image/"):
            candidates.append(link.get("href", ""))
    image = entry.get("image")
    if isinstance(image, dict):
        candidates.append(image.get("href", ""))
    candidates += _IMG.findall(content or _text(entry.get("summary")))
    for candidate in candidates:
        url = safe_url(html.unescape(str(candidate or "")), base_url, allow_file=allow_file)
        if url:
            return url
    return ""


def _is_video(entry: Any, source: SourceSection) -> bool:
    if source.label.lower() == "video":
        return True
    for media in entry.get("media_content") or []:
        if media.get("medium") == "video" or str(media.get("type", "")).startswith("video/"):
            return True
    return any(
        link.get("rel") == "enclosure" and str(link.get("type", "")).startswith("video/")
        for link in entry.get("links") or []
    )
