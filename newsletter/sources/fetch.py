"""Getting a source's bytes: local files, or HTTP(S) with httpx under caps on time and size.

One ``Fetcher`` (one ``httpx.Client`` and its connection pool) serves every source of a run, so
fifty feeds on one host share a handful of kept-alive connections.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import httpx

from newsletter import __version__
from newsletter.errors import SourceError

USER_AGENT = f"newsletter/{__version__} (+https://pypi.org/project/newsletter/; weekly feed digest)"
MAX_BYTES = 10 * 1024 * 1024
CONNECT_SECONDS = 10.0
READ_SECONDS = 20.0
TOTAL_SECONDS = 60.0
MAX_REDIRECTS = 5
FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml, application/xml;q=0.9, */*;q=0.5"
)


@dataclass(frozen=True, slots=True)
class Fetched:
    body: bytes
    base_url: str
    etag: str = ""
    last_modified: str = ""
    not_modified: bool = False


def read_file(path: Path, *, name: str, max_bytes: int = MAX_BYTES) -> Fetched:
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise SourceError(
                f"source {name!r}: {path} is {size} bytes, over the {max_bytes}-byte cap",
                hint="a feed this large is not a news feed; check the path",
            )
        return Fetched(body=path.read_bytes(), base_url=path.resolve().as_uri())
    except FileNotFoundError:
        raise SourceError(
            f"source {name!r}: no such file {path}", hint="check the path in [[sources]]"
        ) from None
    except IsADirectoryError:
        raise SourceError(f"source {name!r}: {path} is a folder, not a feed file") from None
    except OSError as exc:
        raise SourceError(f"source {name!r}: cannot read {path}: {exc.strerror}") from exc


_HINTS = {
    401: "the feed needs credentials; newsletter reads public feeds only",
    403: "a 403 often means the server rejects our User-Agent or blocks this network",
    404: "the feed moved or the URL is mistyped; open it in a browser",
    410: "the feed is gone for good; remove this source",
    429: "the server rate-limits us; it should recover by the next run",
}


class Fetcher:
    """HTTP GETs under caps: connect/read timeouts, a total deadline, a byte cap, few redirects.

    httpx asks for gzip and decodes it; the byte cap counts decoded bytes, so a small gzip bomb
    stops at the cap too. Thread-safe: the sources of a run are fetched from a thread pool.
    """

    def __init__(
        self,
        *,
        connect: float = CONNECT_SECONDS,
        read: float = READ_SECONDS,
        total: float = TOTAL_SECONDS,
        max_bytes: int = MAX_BYTES,
        max_redirects: int = MAX_REDIRECTS,
        connections: int = 16,
    ) -> None:
        self.total = total
        self.max_bytes = max_bytes
        self.client = httpx.Client(
            timeout=httpx.Timeout(connect=connect, read=read, write=read, pool=total),
            follow_redirects=True,
            max_redirects=max_redirects,
            limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
            headers={"User-Agent": USER_AGENT},
        )

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self.client.close()

    def fetch(
        self, url: str, *, name: str, etag: str = "", last_modified: str = "", accept: str = FEED_ACCEPT
    ) -> Fetched:
        """GET ``url`` with conditional headers; raise SourceError naming the source and the reason."""
        if not url.startswith(("http://", "https://")):
            raise SourceError(
                f"source {name!r}: only http(s) URLs can be fetched, not {url!r}",
                hint='use path = "..." for a local file',
            )
        headers = {"Accept": accept}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        try:
            return self._get(url, name, headers)
        except httpx.TooManyRedirects as exc:
            raise SourceError(
                f"source {name!r}: {url} redirects too many times (a loop?)",
                hint="open the URL in a browser and use the address it ends at",
            ) from exc
        except httpx.TimeoutException as exc:
            raise SourceError(
                f"source {name!r}: {url} timed out ({_timeout_kind(exc)})",
                hint="the server is slow or unreachable; it should recover by the next run",
            ) from exc
        except httpx.HTTPError as exc:
            raise SourceError(
                f"source {name!r}: cannot fetch {url}: {exc or exc.__class__.__name__}",
                hint="check the URL and this machine's network",
            ) from exc

    def _get(self, url: str, name: str, headers: dict[str, str]) -> Fetched:
        deadline = time.monotonic() + self.total
        with self.client.stream("GET", url, headers=headers) as response:
            validators = {
                "etag": response.headers.get("etag", ""),
                "last_modified": response.headers.get("last-modified", ""),
            }
            if response.status_code == 304:
                return Fetched(body=b"", base_url=str(response.url), not_modified=True, **validators)
            if response.status_code >= 400:
                raise SourceError(
                    f"source {name!r}: {url} answered HTTP {response.status_code}",
                    hint=_HINTS.get(
                        response.status_code,
                        "the server failed; it should recover by the next run"
                        if response.status_code >= 500
                        else "open the URL in a browser to see what the server says",
                    ),
                )
            if response.status_code >= 300:
                raise SourceError(
                    f"source {name!r}: {url} answered HTTP {response.status_code} without a usable Location",
                    hint="open the URL in a browser and use the address it ends at",
                )
            declared = response.headers.get("content-length", "")
            if (
                declared.isdigit()
                and "content-encoding" not in response.headers
                and int(declared) > self.max_bytes
            ):
                raise SourceError(self._too_big(name, url))
            body = self._read(response, name, url, deadline)
            return Fetched(body=body, base_url=str(response.url), **validators)

    def _read(self, response: httpx.Response, name: str, url: str, deadline: float) -> bytes:
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > self.max_bytes:
                raise SourceError(self._too_big(name, url))
            if time.monotonic() > deadline:
                raise SourceError(
                    f"source {name!r}: {url} took over {self.total:g} s to send; gave up",
                    hint="the server is too slow; it should recover by the next run",
                )
            chunks.append(chunk)
        return b"".join(chunks)

    def _too_big(self, name: str, url: str) -> str:
        return f"source {name!r}: {url} sends over {self.max_bytes} bytes (the cap); stopped reading"


def _timeout_kind(exc: httpx.TimeoutException) -> str:
    if isinstance(exc, httpx.ConnectTimeout):
        return "no connection"
    if isinstance(exc, httpx.ReadTimeout):
        return "no data"
    return exc.__class__.__name__
