"""Fetching feeds over HTTP from a real server on 127.0.0.1: caps, conditional GET, errors with hints."""

from __future__ import annotations

import contextlib
import gzip
import http.server
import threading
import time
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import pytest
from conftest import free_port, run_cli

from newsletter import store
from newsletter.collect import as_of_moment, collect
from newsletter.config import Settings, SourceSection, parse_settings
from newsletter.errors import CollectError, SourceError
from newsletter.sources import read_sources
from newsletter.sources.base import PARALLEL_FROM
from newsletter.sources.feed import parse_feed
from newsletter.sources.fetch import USER_AGENT, Fetcher

NOW = "Thu, 16 Nov 2023 12:00:00 +0000"


def rss(*items: str, extra_ns: str = "") -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/" {extra_ns}><channel>'
        "<title>Test feed</title><link>http://example.org/</link>" + "".join(items) + "</channel></rss>"
    ).encode()


def item(n: int, *, date: str = NOW, link: str = "", body: str = "") -> str:
    link = link or f"http://example.org/story/{n}"
    pub = f"<pubDate>{date}</pubDate>" if date else ""
    return f"<item><title>Story number {n} of the week</title><link>{link}</link>{pub}{body}</item>"


@dataclass
class FeedServer:
    """Routes path -> handler(request) on a ThreadingHTTPServer; remembers every request's headers."""

    base: str = ""
    routes: dict[str, Callable[[http.server.BaseHTTPRequestHandler], None]] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def url(self, path: str) -> str:
        return self.base + path

    def feed(
        self, path: str, body: bytes, *, etag: str = "", content_type: str = "application/rss+xml"
    ) -> None:
        def handle(req: http.server.BaseHTTPRequestHandler) -> None:
            if etag and req.headers.get("If-None-Match") == etag:
                req.send_response(304)
                req.send_header("ETag", etag)
                req.end_headers()
                return
            data = body
            gzipped = "gzip" in (req.headers.get("Accept-Encoding") or "")
            if gzipped:
                data = gzip.compress(body)
            req.send_response(200)
            req.send_header("Content-Type", content_type)
            req.send_header("Content-Length", str(len(data)))
            if gzipped:
                req.send_header("Content-Encoding", "gzip")
            if etag:
                req.send_header("ETag", etag)
                req.send_header("Last-Modified", NOW.replace("+0000", "GMT"))
            req.end_headers()
            req.wfile.write(data)

        self.routes[path] = handle

    def status(self, path: str, code: int, location: str = "") -> None:
        def handle(req: http.server.BaseHTTPRequestHandler) -> None:
            req.send_response(code)
            if location:
                req.send_header("Location", location)
            req.send_header("Content-Length", "0")
            req.end_headers()

        self.routes[path] = handle


def start_feed_server() -> tuple[FeedServer, Callable[[], None]]:
    server_state = FeedServer()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def handle(self) -> None:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # a client that gave up
                super().handle()

        def do_GET(self) -> None:  # noqa: N802 (http.server's hook name)
            path = self.path.split("?")[0]
            server_state.requests.append((path, dict(self.headers.items())))
            handler = server_state.routes.get(path)
            if handler is None:
                self.send_error(404)
                return
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                handler(self)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    server_state.base = f"http://127.0.0.1:{httpd.server_address[1]}"

    def stop() -> None:
        httpd.shutdown()
        httpd.server_close()

    return server_state, stop


@pytest.fixture
def server() -> Iterator[FeedServer]:
    state, stop = start_feed_server()
    try:
        yield state
    finally:
        stop()


def settings_for(tmp_path: Path, sources: str, extra: str = "") -> Settings:
    text = f'[newsletter]\ntimezone = "Europe/Brussels"\ndatabase = "n.db"\n{extra}\n{sources}'
    return parse_settings(tomllib.loads(text), tmp_path / "newsletter.toml")


def source(name: str, url: str, more: str = "") -> str:
    return f'[[sources]]\nname = "{name}"\nurl = "{url}"\n{more}\n'


# --- fetching (the Fetcher alone, no database: sqlite_only) ---------------------------------


@pytest.mark.sqlite_only
def test_user_agent_gzip_and_relative_links_after_a_redirect(server: FeedServer) -> None:
    body = rss(item(1, link="/story/1", body='<description>&lt;img src="img/1.jpg"&gt; Text.</description>'))
    server.feed("/feeds/news.xml", body)
    server.status("/old", 301, "/feeds/news.xml")
    with Fetcher() as fetcher:
        fetched = fetcher.fetch(server.url("/old"), name="News")
    assert fetched.base_url == server.url("/feeds/news.xml")
    assert fetched.body == body  # sent gzipped, decoded by httpx
    path, headers = server.requests[-1]
    assert headers["User-Agent"] == USER_AGENT and "newsletter/" in USER_AGENT
    assert "gzip" in headers["Accept-Encoding"]

    items = parse_feed(fetched.body, source=SourceSection(name="News", path="x"), base_url=fetched.base_url)
    assert items[0].link == server.url("/story/1")
    assert items[0].image == server.url("/feeds/img/1.jpg")


def test_conditional_get_reuses_the_stored_body(server: FeedServer, tmp_path: Path) -> None:
    server.feed("/feed.xml", rss(item(1), item(2)), etag='"v1"')
    settings = settings_for(tmp_path, source("News", server.url("/feed.xml")))
    engine = store.open_engine(settings.database_url)
    first = read_sources(settings, engine)
    second = read_sources(settings, engine)
    assert not first[0].not_modified and second[0].not_modified
    assert [i.link for i in second[0].items] == [i.link for i in first[0].items] and len(first[0].items) == 2
    assert server.requests[-1][1].get("If-None-Match") == '"v1"'
    assert server.requests[-1][1].get("If-Modified-Since") == "Thu, 16 Nov 2023 12:00:00 GMT"


@pytest.mark.sqlite_only
def test_slow_server_times_out_with_a_hint(server: FeedServer) -> None:
    def slow(req: http.server.BaseHTTPRequestHandler) -> None:
        time.sleep(1.5)

    server.routes["/slow.xml"] = slow
    with Fetcher(read=0.3) as fetcher, pytest.raises(SourceError) as info:
        fetcher.fetch(server.url("/slow.xml"), name="Slow")
    assert "source 'Slow'" in info.value.message and "timed out" in info.value.message
    assert "next run" in (info.value.hint or "")


@pytest.mark.sqlite_only
def test_a_server_that_dribbles_bytes_hits_the_total_deadline(server: FeedServer) -> None:
    def dribble(req: http.server.BaseHTTPRequestHandler) -> None:
        req.send_response(200)
        req.send_header("Content-Type", "application/rss+xml")
        req.end_headers()
        for _ in range(30):
            req.wfile.write(b"<" * 10)
            req.wfile.flush()
            time.sleep(0.1)

    server.routes["/dribble.xml"] = dribble
    with Fetcher(read=1.0, total=0.5) as fetcher, pytest.raises(SourceError) as info:
        fetcher.fetch(server.url("/dribble.xml"), name="Dribble")
    assert "took over 0.5 s" in info.value.message


@pytest.mark.sqlite_only
def test_a_huge_feed_stops_at_the_byte_cap(server: FeedServer) -> None:
    def huge(req: http.server.BaseHTTPRequestHandler) -> None:
        req.send_response(200)
        req.send_header("Content-Type", "application/rss+xml")
        req.end_headers()  # no Content-Length: the cap must hold while streaming
        for _ in range(200):
            req.wfile.write(b" " * 16384)

    server.routes["/huge.xml"] = huge
    server.feed("/declared.xml", b" " * 300_000)
    with Fetcher(max_bytes=100_000) as fetcher:
        for path in ("/huge.xml", "/declared.xml"):
            with pytest.raises(SourceError) as info:
                fetcher.fetch(server.url(path), name="Huge")
            assert "over 100000 bytes" in info.value.message


@pytest.mark.sqlite_only
def test_a_gzip_bomb_stops_at_the_byte_cap(server: FeedServer) -> None:
    server.feed("/bomb.xml", b"<" * 5_000_000)  # gzips to a few KB
    with Fetcher(max_bytes=1_000_000) as fetcher, pytest.raises(SourceError) as info:
        fetcher.fetch(server.url("/bomb.xml"), name="Bomb")
    assert "over 1000000 bytes" in info.value.message


@pytest.mark.sqlite_only
def test_redirect_loop_and_http_errors_name_the_source_and_hint(server: FeedServer) -> None:
    server.status("/loop", 302, "/loop")
    server.status("/forbidden", 403)
    server.status("/broken", 500)
    expected = {
        "/loop": ("redirects too many times", "address it ends at"),
        "/forbidden": ("HTTP 403", "User-Agent"),
        "/missing": ("HTTP 404", "moved"),
        "/broken": ("HTTP 500", "next run"),
    }
    with Fetcher() as fetcher:
        for path, (reason, hint) in expected.items():
            with pytest.raises(SourceError) as info:
                fetcher.fetch(server.url(path), name="Bad")
            assert "source 'Bad'" in info.value.message and reason in info.value.message, path
            assert hint in (info.value.hint or ""), path


@pytest.mark.sqlite_only
def test_refused_connection_is_a_source_error() -> None:
    with Fetcher(connect=1.0) as fetcher, pytest.raises(SourceError) as info:
        fetcher.fetch(f"http://127.0.0.1:{free_port()}/feed.xml", name="Down")
    assert "cannot fetch" in info.value.message and info.value.hint


# --- a run over several sources -----------------------------------------------------------


def test_broken_sources_warn_and_the_others_still_count(server: FeedServer, tmp_path: Path) -> None:
    server.feed("/good.xml", rss(item(1), item(2)))
    server.feed(
        "/page.html",
        b"<html><head><title>Hi</title></head><body><p>no feed</p></body></html>",
        content_type="text/html",
    )
    server.status("/gone.xml", 404)
    sources = (
        source("Good", server.url("/good.xml"))
        + source("Page", server.url("/page.html"))
        + source("Gone", server.url("/gone.xml"))
    )
    settings = settings_for(tmp_path, sources)
    engine = store.open_engine(settings.database_url)
    as_of = as_of_moment(date(2023, 11, 17), settings.zone)
    issue, results = collect(settings, engine, as_of)
    assert len(issue.items) == 2
    errors = {r.source.name: r.error for r in results if r.error}
    assert set(errors) == {"Page", "Gone"}
    assert "a web page (HTML), not an RSS or Atom feed" in errors["Page"].message
    assert "HTTP 404" in errors["Gone"].message


def test_every_source_failing_is_an_error_and_failures_in_a_row_show_in_status(
    server: FeedServer, tmp_path: Path
) -> None:
    server.status("/a.xml", 500)
    server.status("/b.xml", 403)
    config = tmp_path / "newsletter.toml"
    config.write_text(
        '[newsletter]\ndatabase = "n.db"\n'
        + source("Alpha", server.url("/a.xml"))
        + source("Beta", server.url("/b.xml"))
    )
    for _ in range(3):
        result = run_cli("--config", str(config), "send", "--as-of", "2023-11-17")
        assert result.returncode == 1
        assert "every source failed" in result.stderr and "source 'Alpha'" in result.stderr
    status = run_cli("--config", str(config), "status")
    assert status.returncode == 0, status.stderr
    assert "source failing 3 runs in a row" in status.stdout and server.url("/b.xml") in status.stdout
    settings = settings_for(tmp_path, source("Alpha", server.url("/a.xml")))
    with pytest.raises(CollectError):
        collect(settings, store.open_engine(settings.database_url), datetime.now().astimezone())


def test_og_image_fills_in_missing_images_when_asked(
    server: FeedServer, tmp_path: Path, new_database, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.feed(
        "/feed.xml",
        rss(
            item(1, link="/a/1"),
            item(2, link="/a/2", body='<media:content url="http://img.example/2.jpg" medium="image"/>'),
        ),
    )
    page = b'<html><head><meta property="og:image" content="/pics/1.jpg"><title>One</title></head><body>x</body></html>'
    server.feed("/a/1", page, content_type="text/html")
    # The image URLs as found (the image step, which would fetch them, is another test's: test_images)
    settings = settings_for(
        tmp_path, source("News", server.url("/feed.xml"), "og_image = true") + "[images]\nprocess = false\n"
    )
    engine = store.open_engine(settings.database_url)
    as_of = datetime(2023, 11, 17, 12, tzinfo=settings.zone)
    issue, _ = collect(settings, engine, as_of)
    images = {i.link: i.image for i in issue.items}
    assert images[server.url("/a/1")] == server.url("/pics/1.jpg")
    assert images[server.url("/a/2")] == "http://img.example/2.jpg"
    page_requests = [p for p, _ in server.requests if p.startswith("/a/")]
    assert page_requests == ["/a/1"]
    collect(settings, engine, as_of)
    assert [p for p, _ in server.requests if p.startswith("/a/")] == ["/a/1"]  # remembered in the draft

    # the same feed in another newsletter, with a database of its own (no draft remembering images)
    monkeypatch.setenv("NEWSLETTER_DATABASE_X", new_database("x"))
    plain = settings_for(
        tmp_path / "x", source("News", server.url("/feed.xml")), 'database_env = "NEWSLETTER_DATABASE_X"'
    )
    (tmp_path / "x").mkdir()
    issue, _ = collect(plain, store.open_engine(plain.database_url), as_of)
    assert {i.link: i.image for i in issue.items}[server.url("/a/1")] == ""  # off by default


def test_many_sources_parse_in_worker_processes_with_errors_intact(
    server: FeedServer, tmp_path: Path
) -> None:
    for n in range(PARALLEL_FROM + 2):
        server.feed(f"/f{n}.xml", rss(item(n, link=f"http://example.org/{n}")))
    server.feed("/bad.xml", b"<html><body>not a feed</body></html>", content_type="text/html")
    sources = "".join(source(f"F{n}", server.url(f"/f{n}.xml")) for n in range(PARALLEL_FROM + 2))
    settings = settings_for(tmp_path, sources + source("Bad", server.url("/bad.xml")))
    results = read_sources(settings, store.open_engine(settings.database_url))
    assert [len(r.items) for r in results] == [1] * (PARALLEL_FROM + 2) + [0]
    bad = results[-1].error
    assert bad is not None and "not an RSS or Atom feed" in bad.message and bad.hint
    assert results[-1].failures_in_a_row == 1
