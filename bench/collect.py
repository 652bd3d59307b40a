"""Collection speed: 50 feeds of 50 items each, served by a local HTTP server, collected into a draft.

Times the whole of `collect` (fetch every feed concurrently, parse, date, dedupe, store the draft),
first with every feed fetched whole (HTTP 200), then again with conditional GETs (HTTP 304, the
stored bodies reused). Run from the repository:

    python bench/collect.py [--feeds 50] [--items 50] [--runs 5]
"""

from __future__ import annotations

import argparse
import http.server
import multiprocessing
import os
import resource
import statistics
import tempfile
import time
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

from newsletter import store
from newsletter.collect import collect
from newsletter.config import Settings, parse_settings

AS_OF = datetime(2023, 11, 17, 23, 0, tzinfo=UTC)


def feed_bytes(feed: int, items: int) -> bytes:
    """An RSS 2.0 feed like a news site's: HTML descriptions, media:content images, dates within the week."""
    parts = []
    for n in range(items):
        when = AS_OF - timedelta(hours=3 * n + feed % 3)
        parts.append(
            f"<item><title>Feed {feed} story {n}: ministers meet to discuss the week's events</title>"
            f"<link>https://news{feed}.example/2023/11/story-{n}?utm_source=rss</link>"
            f"<description>&lt;p&gt;Paragraph about story {n} with &lt;b&gt;bold&lt;/b&gt; words and a "
            f'&lt;a href="/more/{n}"&gt;link&lt;/a&gt;. A second sentence gives more detail about what '
            f"happened and why it matters to the readers of this newsletter. A third closes it.&lt;/p&gt;"
            f"</description><pubDate>{when:%a, %d %b %Y %H:%M:%S +0000}</pubDate>"
            f'<guid>https://news{feed}.example/{n}</guid><media:content url="https://img.example/{feed}/{n}.jpg" '
            f'medium="image" type="image/jpeg"/></item>'
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/">'
        f"<channel><title>Feed {feed}</title><link>https://news{feed}.example/</link>{''.join(parts)}</channel></rss>"
    ).encode()


def serve(feeds: dict[str, bytes]) -> tuple[multiprocessing.Process, str]:
    """The feeds served from a process of their own, so the server does not share the collector's CPU."""
    ready: multiprocessing.Queue[int] = multiprocessing.Queue()
    process = multiprocessing.Process(target=_serve_forever, args=(feeds, ready), daemon=True)
    process.start()
    return process, f"http://127.0.0.1:{ready.get(timeout=30)}"


def _serve_forever(feeds: dict[str, bytes], ready: multiprocessing.Queue[int]) -> None:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 (http.server's hook name)
            body = feeds.get(self.path)
            if body is None:
                self.send_error(404)
                return
            etag = f'"{hash(body) & 0xFFFFFFFF:x}"'
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("ETag", etag)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    ready.put(server.server_address[1])
    server.serve_forever()


def settings_for(folder: Path, base: str, count: int) -> Settings:
    sources = "".join(f'[[sources]]\nname = "Feed {n}"\nurl = "{base}/feed{n}.xml"\n' for n in range(count))
    text = f'[newsletter]\ntimezone = "Europe/Brussels"\ndatabase = "bench.db"\n[issue]\nmax_cards = 12\n{sources}'
    return parse_settings(tomllib.loads(text), folder / "newsletter.toml")


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (the parsing workers)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed_collect(settings: Settings, folder: Path, fresh: bool) -> tuple[float, int, bool, float]:
    """Wall seconds for one collect (and CPU seconds); ``fresh`` starts from an empty database."""
    if fresh:
        for leftover in folder.glob("bench.db*"):
            leftover.unlink()
    engine = store.open_engine(settings.database_url)
    cpu = cpu_seconds()
    started = time.perf_counter()
    issue, results = collect(settings, engine, AS_OF, now=AS_OF)
    elapsed = time.perf_counter() - started
    cpu = cpu_seconds() - cpu
    engine.dispose()
    assert not any(r.error for r in results), [str(r.error) for r in results if r.error]
    return elapsed, len(issue.items), all(r.not_modified for r in results), cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=50)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    feeds = {f"/feed{n}.xml": feed_bytes(n, args.items) for n in range(args.feeds)}
    server, base = serve(feeds)
    size = sum(len(b) for b in feeds.values())
    print(f"{args.feeds} feeds x {args.items} items ({size / 1024:.0f} KB) from {base}")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            settings = settings_for(folder, base, args.feeds)
            whole = [timed_collect(settings, folder, fresh=True) for _ in range(args.runs)]
            cached = [timed_collect(settings, folder, fresh=False) for _ in range(args.runs)]
    finally:
        server.terminate()
        server.join()
    for label, runs in (
        ("HTTP 200, every feed fetched whole", whole),
        ("HTTP 304, stored bodies reused", cached),
    ):
        seconds = [r[0] for r in runs]
        print(
            f"collect, {label}: median {statistics.median(seconds):.3f} s, best {min(seconds):.3f} s, "
            f"worst {max(seconds):.3f} s over {len(runs)} runs; {runs[0][1]} items in the issue; "
            f"CPU {statistics.median(r[3] for r in runs):.2f} s (median, all processes)"
        )
    assert all(r[2] for r in cached[1:]) or args.runs < 2, "the second pass should be all 304s"
    verdict = "under" if statistics.median(r[0] for r in whole) < 1.0 else "OVER"
    print(f"target: {args.feeds} feeds collected in under 1 s of wall time (median): {verdict}")
    print(f"load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
