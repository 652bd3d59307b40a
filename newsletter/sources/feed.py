"""RSS 0.9x/1.0/2.0 and Atom bytes -> Items, with feedparser (always from bytes, never a URL or path).

Before feedparser sees a feed, ``defuse`` rewrites its DOCTYPE so that no declared entity can
expand it: feedparser's fallback parser re-inserts every "safe" entity, and a 35 KB feed with one
30 KB entity referenced a thousand times becomes a 45 MB summary. What parsing yields is capped
too: characters per field, and items per feed (``MAX_ITEMS``, far above any week's news; what is
left out beyond it is said in a note naming the source).

Given the issue's window, ``read_feed`` turns into items only the entries dated inside it (and the
undated ones, dated later by when they are first seen): a feed that carries its whole archive,
thousands of entries, costs one feedparser pass and a date check per old entry, and every entry of
the period is kept whatever their number. Memory is bounded by the fetch's byte cap (10 MB), which
bounds feedparser's work, and by ``MAX_ITEMS``.
"""

from __future__ import annotations

import calendar
import html
import re
import xml.sax
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser
import nh3

from newsletter.config import SourceSection
from newsletter.errors import SourceError
from newsletter.models import Item
from newsletter.sources.filters import LeftOut, left_out_by

_SPACE = re.compile(r"\s+")
_IMG = re.compile(r"<img\b[^>]*?\bsrc\s*=\s*[\"']([^\"']+)[\"']", re.IGNORECASE)
_SENTENCE_END = re.compile(r"[.!?…][\"'”’)]?\s")
_DOCTYPE = re.compile(rb"<!DOCTYPE\s+([\w:.-]*)", re.IGNORECASE)
_FIRST_ELEMENT = re.compile(rb"<[A-Za-z_]")
_HTML_PAGE = re.compile(rb"<!doctype\s+html|<html[\s>]", re.IGNORECASE)
_ENTITY = re.compile(rb"<!ENTITY\s+(\w[\w.-]*)\s+(\"[^\"]*\"|'[^']*')\s*>", re.IGNORECASE)
# An entity kept from a DOCTYPE expands to at most a few characters: a character reference or
# a short plain string. Anything longer (or a parameter or external entity) is dropped.
_SHORT_VALUE = re.compile(rb"^(&#x?[0-9a-fA-F]{1,6};|[^&%<>\"']{0,8})$")
_VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".webm", ".ogv", ".m3u8")
# Items kept per feed, after the window: a safety cap on what one run carries into the draft, far
# above what any feed publishes in a week. Entries beyond it are left out with a note.
MAX_ITEMS = 10_000
_EPOCH = datetime.fromtimestamp(0, UTC)
MAX_FIELD_CHARS = 100_000
TITLE_FROM_SUMMARY = 100


@dataclass(slots=True)
class FeedItems:
    """What one feed yields: its items, and notes for the operator (what was left out, and why)."""

    items: list[Item] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    left_out: list[LeftOut] = field(default_factory=list)  # every other entry, and why
    entries: int = 0  # in the feed, whatever their date


class WebPageError(SourceError):
    """The document is an HTML page, not a feed: the caller may look for the feed it announces."""


def parse_feed(body: bytes, *, source: SourceSection, base_url: str, summary_length: int = 300) -> list[Item]:
    """Parse a feed's bytes into items (every entry, up to ``MAX_ITEMS``). A malformed feed is still
    used when entries parse."""
    return read_feed(body, source=source, base_url=base_url, summary_length=summary_length).items


def read_feed(
    body: bytes,
    *,
    source: SourceSection,
    base_url: str,
    summary_length: int = 300,
    window: tuple[datetime, datetime] | None = None,
) -> FeedItems:
    """Parse a feed's bytes; with a ``window`` (start, end], entries dated outside it are skipped
    before any work is spent on them. Undated entries are always kept."""
    parsed = _parse(defuse(body, source.name), source.name, base_url)
    entries = parsed.get("entries") or []
    if not entries:
        _raise_unless_feed(parsed, body, source.name)
        return FeedItems()
    allow_file = base_url.startswith("file:")
    result = FeedItems(entries=len(entries))
    linked = 0
    wanted: list[tuple[int, str, datetime | None]] = []  # (entry index, link, date)
    for n, entry in enumerate(entries):
        link = safe_url(_text(entry.get("link")), base_url, allow_file=False)
        published = _date(entry)
        if not link:
            result.left_out.append(_left_out(entry, "", published, "no http(s) link"))
            continue
        linked += 1
        if window is not None and published is not None and not window[0] < published <= window[1]:
            result.left_out.append(_left_out(entry, link, published, "outside the window"))
            continue
        wanted.append((n, link, published))
    if len(wanted) > MAX_ITEMS:
        # Keep the newest (undated entries last, as in the draft), then restore the feed's order.
        newest = sorted(wanted, key=lambda w: (w[2] is not None, w[2] or _EPOCH), reverse=True)
        wanted = sorted(newest[:MAX_ITEMS])
        over = f"over the cap of {MAX_ITEMS} entries a feed"
        result.left_out += [_left_out(entries[n], link, when, over) for n, link, when in newest[MAX_ITEMS:]]
        span = "in the issue's window (or undated)" if window is not None else "with a link"
        result.notes.append(
            f"source {source.name!r}: {len(newest)} entries {span}, over the cap of {MAX_ITEMS} a feed; "
            f"kept the newest {MAX_ITEMS}, left out {len(newest) - MAX_ITEMS}"
        )
    for n, link, published in wanted:
        item = _item(entries[n], link, published, source, base_url, summary_length, allow_file)
        if isinstance(item, Item):
            result.items.append(item)
        else:
            result.left_out.append(_left_out(entries[n], link, published, item))
    if not linked:
        raise SourceError(
            f"source {source.name!r}: {len(entries)} entries, none with an http(s) link",
            hint="the feed's items need <link> elements pointing to web pages",
        )
    return result


def _parse(body: bytes, name: str, base_url: str) -> Any:
    try:
        # Our own cleaning (nh3) and URL resolution (against base_url) follow; feedparser's are slow
        # and redundant: without a content-location it leaves URLs relative (to any xml:base) and
        # parses a quarter faster.
        return feedparser.parse(body, sanitize_html=False, resolve_relative_uris=False)
    except Exception as exc:  # feedparser raises a wide variety on hostile input
        raise SourceError(
            f"source {name!r}: the feed could not be parsed: {exc.__class__.__name__}: {exc}",
            hint="open the URL or file: it should be RSS or Atom XML",
        ) from exc


def _raise_unless_feed(parsed: Any, body: bytes, name: str) -> None:
    """A feed with no entries is fine; a document that is no feed at all is an error."""
    if parsed.get("version"):
        return
    if not body.strip():
        raise SourceError(
            f"source {name!r}: the feed is empty (0 bytes)", hint="the server sent nothing; check the URL"
        )
    if _HTML_PAGE.search(body[:2048]):
        raise WebPageError(
            f"source {name!r}: this is a web page (HTML), not an RSS or Atom feed",
            hint="open the page in a browser and look for its feed link (often /feed, /rss or /atom.xml)",
        )
    reason = parsed.get("bozo_exception")
    detail = f" (malformed XML: {reason})" if isinstance(reason, xml.sax.SAXParseException) else ""
    raise SourceError(
        f"source {name!r}: not an RSS or Atom feed{detail}",
        hint="open the URL or file: it should be RSS or Atom XML",
    )


def defuse(body: bytes, name: str) -> bytes:
    """Rewrite a DOCTYPE's internal subset so that no entity can blow the feed up when expanded.

    Only short entities (a character reference, a few characters) are kept; parameter entities,
    external entities and long values are dropped, and references to them stay unexpanded.
    """
    head = body[:4].replace(b"\xef\xbb\xbf", b"")
    if b"\x00" in head or head.startswith((b"\xff\xfe", b"\xfe\xff")):
        if b"<!ENTITY" in body.replace(b"\x00", b"").upper():
            raise SourceError(
                f"source {name!r}: the feed declares XML entities in a UTF-16/32 encoding; refused",
                hint="entity declarations can expand a small feed to gigabytes; ask the publisher for UTF-8",
            )
        return body
    first = _FIRST_ELEMENT.search(body)
    match = _DOCTYPE.search(body, 0, first.start() if first else len(body))
    if match is None:
        return body
    end, subset = _doctype_end(body, match.end())
    if end < 0:
        raise SourceError(
            f"source {name!r}: the feed's DOCTYPE never ends", hint="the file is malformed beyond use"
        )
    if subset is None:
        return body
    kept = [
        b"<!ENTITY " + m[1] + b" " + m[2] + b">"
        for m in _ENTITY.finditer(subset)
        if _SHORT_VALUE.match(m[2][1:-1]) and not m[0].upper().startswith(b"<!ENTITY %")
    ]
    doctype = b"<!DOCTYPE " + (match[1] or b"rss")
    if kept:
        doctype += b" [\n" + b"\n".join(kept) + b"\n]"
    return body[: match.start()] + doctype + b">" + body[end:]


def _doctype_end(body: bytes, i: int) -> tuple[int, bytes | None]:
    """The index after a DOCTYPE's closing '>', and its internal subset (None when it has none)."""
    subset_start = -1
    n = len(body)
    while i < n:
        ch = body[i : i + 1]
        if ch in (b'"', b"'"):
            close = body.find(ch, i + 1)
            if close < 0:
                return -1, None
            i = close + 1
            continue
        if subset_start < 0:
            if ch == b">":
                return i + 1, None
            if ch == b"[":
                subset_start = i + 1
        elif body.startswith(b"<!--", i):
            close = body.find(b"-->", i + 4)
            if close < 0:
                return -1, None
            i = close + 3
            continue
        elif ch == b"]":
            close = body.find(b">", i)
            if close < 0:
                return -1, None
            return close + 1, body[subset_start:i]
        i += 1
    return -1, None


def _item(
    entry: Any,
    link: str,
    published: datetime | None,
    source: SourceSection,
    base_url: str,
    summary_length: int,
    allow_file: bool,
) -> Item | str:
    """The entry as an item, or why it is left out (no title, or the source's rules)."""
    content = _content_html(entry)
    summary = clean_text(_text(entry.get("summary")) or content)
    title = clean_text(_text(entry.get("title"))) or shorten(summary, TITLE_FROM_SUMMARY)
    if not title:
        return "no title or summary"
    reason = left_out_by(source, title, summary, _categories(entry))
    if reason:
        return reason
    return Item(
        title=title,
        link=link,
        summary=shorten(summary, summary_length),
        published=published,
        source=source.name,
        label=source.label,
        image=_image(entry, content, base_url, allow_file),
        is_video=_is_video(entry, source),
    )


def _left_out(entry: Any, link: str, published: datetime | None, reason: str) -> LeftOut:
    title = _text(entry.get("title"))[:500]
    return LeftOut(clean_text(title) if title else "(no title)", link, published, reason)


def _categories(entry: Any) -> list[str]:
    """The entry's categories (RSS <category>, Atom <category term>, as feedparser's tags)."""
    found = []
    for tag in _dicts(entry.get("tags")):
        for key in ("term", "label"):
            value = _text(tag.get(key)).strip()
            if value and value not in found:
                found.append(value)
    return found


def _text(value: Any) -> str:
    return value[:MAX_FIELD_CHARS] if isinstance(value, str) else ""


def _content_html(entry: Any) -> str:
    for part in _dicts(entry.get("content")):
        value = _text(part.get("value"))
        if value:
            return value
    return ""


def _content_base(entry: Any, base_url: str) -> str:
    """The base URL that relative links in the entry's HTML are relative to (xml:base, else the feed)."""
    for part in [*_dicts(entry.get("content")), entry.get("summary_detail")]:
        base = part.get("base") if isinstance(part, dict) else None
        if isinstance(base, str) and base.strip():
            try:
                return urljoin(base_url, base.strip())
            except ValueError:
                break
    return base_url


def clean_text(value: str) -> str:
    """HTML -> plain text: tags removed by nh3, entities decoded, whitespace collapsed."""
    value = value[:MAX_FIELD_CHARS]
    if "<" in value or "&" in value:
        value = html.unescape(nh3.clean(value, tags=set(), clean_content_tags={"script", "style"}))
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
    if not url or len(url) > 2048:
        return ""
    try:
        absolute = urljoin(base_url, url)
        parts = urlsplit(absolute)
    except ValueError:  # e.g. an invalid IPv6 host
        return ""
    scheme = parts.scheme.lower()
    if scheme in ("http", "https") and parts.netloc:
        return absolute
    if allow_file and scheme == "file":
        return absolute
    return ""


def _date(entry: Any) -> datetime | None:
    """The published, else updated, else created date; None when there is none or it does not parse."""
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        # dict.get: the stored keys only (feedparser's own get maps a missing updated_parsed to
        # published_parsed, with a DeprecationWarning, when a date did not parse)
        value = dict.get(entry, key) if isinstance(entry, dict) else None
        if value:
            try:
                return datetime.fromtimestamp(calendar.timegm(value), UTC)
            except (OverflowError, ValueError, OSError, TypeError):
                continue
    return None


def _image(entry: Any, content: str, base_url: str, allow_file: bool) -> str:
    """media:content / media:thumbnail, an image enclosure, itunes:image, else the first <img>."""
    candidates: list[str] = []
    for media in _dicts(entry.get("media_content")):
        if _is_image_media(media):
            candidates.append(media.get("url", ""))
    candidates += [m.get("url", "") for m in _dicts(entry.get("media_thumbnail"))]
    for link in _dicts(entry.get("links")):
        if link.get("rel") == "enclosure" and str(link.get("type", "")).startswith("image/"):
            candidates.append(link.get("href", ""))
    image = entry.get("image")
    if isinstance(image, dict):
        candidates.append(image.get("href", ""))
    for candidate in candidates:
        url = safe_url(html.unescape(str(candidate or "")), base_url, allow_file=allow_file)
        if url:
            return url
    content_base = _content_base(entry, base_url)
    for candidate in _IMG.findall(content or _text(entry.get("summary"))):
        url = safe_url(html.unescape(candidate), content_base, allow_file=allow_file)
        if url:
            return url
    return ""


def _dicts(value: Any) -> list[dict]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _is_image_media(media: dict) -> bool:
    medium, kind = str(media.get("medium", "")), str(media.get("type", ""))
    if medium or kind:
        return medium == "image" or kind.startswith("image/")
    return not str(media.get("url", "")).lower().endswith(_VIDEO_SUFFIXES)


def _is_video(entry: Any, source: SourceSection) -> bool:
    """A video enclosure, media:content medium="video", or a source labelled Video."""
    if source.label.strip().lower() == "video":
        return True
    for media in _dicts(entry.get("media_content")):
        if media.get("medium") == "video" or str(media.get("type", "")).startswith("video/"):
            return True
    return any(
        link.get("rel") == "enclosure" and str(link.get("type", "")).startswith("video/")
        for link in _dicts(entry.get("links"))
    )
