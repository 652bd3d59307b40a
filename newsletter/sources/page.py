"""What a web page's <head> says: its Open Graph metadata (og:image, og:title, og:description),
and the feeds it announces.

The metadata is used for a source with ``og_image = true`` (items that carry no image of their own)
and for `newsletter draft add URL` without a title; the announced feeds when a source's URL is a web
page rather than a feed (``<link rel="alternate" type="application/rss+xml" href="...">``, as feed
readers find them). Pages are fetched with the same caps as feeds.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from html.parser import HTMLParser

from newsletter.errors import SourceError
from newsletter.sources.feed import clean_text, safe_url
from newsletter.sources.fetch import Fetcher

PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"
HEAD_BYTES = 512 * 1024
FEED_TYPES = ("application/rss+xml", "application/atom+xml")


@dataclass(frozen=True, slots=True)
class PageMeta:
    title: str = ""
    description: str = ""
    image: str = ""


class _HeadParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.meta: dict[str, str] = {}
        self.feeds: list[str] = []  # hrefs of <link rel="alternate"> to RSS or Atom, in page order
        self.base = ""  # <base href>
        self.title = ""
        self._in_title = False
        self.done = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body":
            self.done = True
        elif tag == "title":
            self._in_title = True
        elif tag == "meta":
            values = {k.lower(): v or "" for k, v in attrs}
            key = (values.get("property") or values.get("name") or "").lower()
            if key and key not in self.meta and "content" in values:
                self.meta[key] = values["content"]
        elif tag == "link":
            values = {k.lower(): v or "" for k, v in attrs}
            rels = values.get("rel", "").lower().split()
            kind = values.get("type", "").split(";")[0].strip().lower()
            if "alternate" in rels and kind in FEED_TYPES and values.get("href", "").strip():
                self.feeds.append(values["href"].strip())
        elif tag == "base" and not self.base:
            self.base = dict(attrs).get("href") or ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "head":
            self.done = True
        elif tag == "title":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title and len(self.title) < 1000:
            self.title += data


def _head(body: bytes) -> _HeadParser:
    parser = _HeadParser()
    text = body[:HEAD_BYTES].decode("utf-8", "replace")
    for start in range(0, len(text), 8192):
        parser.feed(text[start : start + 8192])
        if parser.done:
            break
    return parser


def announced_feeds(body: bytes, base_url: str) -> list[str]:
    """The RSS and Atom feeds an HTML page announces in its <head>, in its order, as absolute
    http(s) URLs (relative ones resolved against the page's <base href>, else its URL)."""
    parser = _head(body)
    base = safe_url(parser.base, base_url, allow_file=False) if parser.base else base_url
    found: list[str] = []
    for href in parser.feeds:
        url = safe_url(href, base or base_url, allow_file=False)
        if url and url not in found:
            found.append(url)
    return found


def page_meta(body: bytes, base_url: str) -> PageMeta:
    """The Open Graph title, description and image of an HTML page (http(s) image URLs only)."""
    parser = _head(body)
    meta = parser.meta
    image = meta.get("og:image:secure_url") or meta.get("og:image") or meta.get("twitter:image", "")
    return PageMeta(
        title=clean_text(meta.get("og:title") or parser.title),
        description=clean_text(meta.get("og:description") or meta.get("description", "")),
        image=safe_url(html.unescape(image), base_url, allow_file=False),
    )


def fetch_page_meta(fetcher: Fetcher, url: str, *, name: str) -> PageMeta:
    """Fetch ``url`` (an article page) and read its metadata; SourceError when it cannot be had."""
    fetched = fetcher.fetch(url, name=name, accept=PAGE_ACCEPT)
    return page_meta(fetched.body, fetched.base_url)


def try_page_image(fetcher: Fetcher, url: str, *, name: str) -> str:
    """The og:image of ``url``, or "" when the page cannot be fetched or has none."""
    try:
        return fetch_page_meta(fetcher, url, name=name).image
    except SourceError:
        return ""
