"""Getting a source's bytes: local files, or HTTP(S) with httpx under caps on time and size."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import httpx

from newsletter import __version__
from newsletter.errors import SourceError

USER_AGENT = f"newsletter/{__version__} (+https://github.com/newsletter/newsletter; feed digest)"
MAX_BYTES = 10 * 1024 * 1024
TIMEOUT = httpx.Timeout(connect=10.0, read=20.0, write=10.0, pool=10.0)
TOTAL_SECONDS = 60.0
MAX_REDIRECTS = 5


@dataclass(frozen=True, slots=True)
class Fetched:
    body: bytes
    base_url: str
    etag: str = ""
    last_modified: str = ""
    not_modified: bool = False


def read_file(path: Path, *, name: str) -> Fetched:
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise SourceError(f"source {name!r}: {path} is {size} bytes, over the {MAX_BYTES}-byte cap")
        return Fetched(body=path.read_bytes(), base_url=path.resolve().as_uri())
    except FileNotFoundError:
        raise SourceError(
            f"source {name!r}: no such file {path}", hint="check the path in [[sources]]"
        ) from None
    except OSError as exc:
        raise SourceError(f"source {name!r}: cannot read {path}: {exc.strerror}") from exc


_HINTS = {
    401: "the feed needs credentials; newsletter reads public feeds only",
    403: "a 403 often means the server rejects our User-Agent or blocks this network",
    404: "the feed moved or the URL is mistyped; open it in a browser",
    410: "the feed is gone for good; remove this source",
    429: "the server rate-limits us; it should recover by the next run",
}


def fetch_url(
    url: str, *, name: str, etag: str = "", last_modified: str = "", client: httpx.Client | None = None
) -> Fetched:
    """GET ``url`` with conditional headers; raise SourceError naming the source and the reason."""
    if not url.startswith(("http://", "https://")):
        raise SourceError(
            f"source {name!r}: only http(s) URLs can be fetched, not {url!r}",
            hint='use path = "..." for a local file',
        )
    headers = {
        "User-Agent": USER_AGENT,
        "Accept": "application/rss+xml, application/atom+xml, application/xml;q=0.9, */*;q=0.5",
    }
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    own = client is None
    client = client or httpx.Client(timeout=TIMEOUT, follow_redirects=True, max_redirects=MAX_REDIRECTS)
    try:
        return _get(client, url, name, headers)
    finally:
        if own:
            client.close()


def _get(client: httpx.Client, url: str, name: str, headers: dict[str, str]) -> Fetched:
    import time

    deadline = time.monotonic() + TOTAL_SECONDS
    try:
        with client.stream("GET", url, headers=headers) as response:
            if response.status_code == 304:
                return Fetched(
                    body=b"",
                    base_url=str(response.url),
                    not_modified=True,
                    etag=response.headers.get("etag", ""),
                    last_modified=response.headers.get("last-modified", ""),
                )
            if response.status_code >= 400:
                raise SourceError(
                    f"source {name!r}: {url} answered HTTP {response.status_code}",
                    hint=_HINTS.get(response.status_code, "the server failed; try again later"),
                )
            declared = int(response.headers.get("content-length") or 0)
            if declared > MAX_BYTES:
                raise SourceError(
                    f"source {name!r}: {url} is {declared} bytes, over the {MAX_BYTES}-byte cap"
                )
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > MAX_BYTES:
                    raise SourceError(f"source {name!r}: {url} sent over {MAX_BYTES} bytes; stopped reading")
                if time.monotonic() > deadline:
                    raise SourceError(
                        f"source {name!r}: {url} took over {TOTAL_SECONDS:.0f} s; gave up",
                        hint="the server is too slow; it should recover by the next run",
                    )
                chunks.append(chunk)
            return Fetched(
                body=b"".join(chunks),
                base_url=str(response.url),
                etag=response.headers.get("etag", ""),
                last_modified=response.headers.get("last-modified", ""),
            )
    except httpx.TooManyRedirects as exc:
        raise SourceError(
            f"source {name!r}: {url} redirects too many times (a loop?)",
            hint="open the URL in a browser and use the address it ends at",
        ) from exc
    except httpx.TimeoutException as exc:
        raise SourceError(
            f"source {name!r}: {url} timed out ({exc.__class__.__name__})",
            hint="the server is slow or unreachable; it should recover by the next run",
        ) from exc
    except httpx.HTTPError as exc:
        raise SourceError(
            f"source {name!r}: cannot fetch {url}: {exc}", hint="check the URL and this machine's network"
        ) from exc
