"""One-click unsubscribe benchmark: N concurrent RFC 8058 POSTs against `newsletter serve`.

Starts the real command on a free port of 127.0.0.1 with a fresh SQLite file holding N subscribers,
posts one one-click unsubscribe for each from C client threads sharing one httpx pool of C
connections (httpx's asyncio pool measured 76/s with 100 connections: the client, not the server,
was the limit), and prints
the time, the rate, the slowest answer and how many were recorded. Run from the repository:

    python bench/unsubscribe.py [--count 1000] [--connections 50]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from newsletter import store
from newsletter.compose import list_id
from newsletter.config import load_settings
from newsletter.subscribers import parse_csv, sync, unsubscribe_token


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def post_all(urls: list[str], connections: int) -> list[tuple[int, float]]:
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    with httpx.Client(limits=limits, timeout=120) as client:

        def one(url: str) -> tuple[int, float]:
            started = time.perf_counter()
            response = client.post(url, data={"List-Unsubscribe": "One-Click"})
            return response.status_code, time.perf_counter() - started

        with ThreadPoolExecutor(connections) as pool:
            return list(pool.map(one, urls))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--connections", type=int, default=50)
    args = parser.parse_args()
    os.environ["NEWSLETTER_SECRET"] = "bench-secret"
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        config = Path(tmp) / "newsletter.toml"
        config.write_text(
            f'[newsletter]\ndatabase = "bench.db"\n[subscribers]\ncsv = ""\n[web]\nbase_url = "http://127.0.0.1:{port}"\n'
        )
        settings = load_settings(config)
        engine = store.open_engine(settings.database_url)
        emails = [f"reader{i:06d}@example.org" for i in range(args.count)]
        sync(engine, parse_csv("email\n" + "\n".join(emails) + "\n", "bench.csv"), remove_missing=False)
        base = f"http://127.0.0.1:{port}"
        urls = [
            f"{base}/unsubscribe/{unsubscribe_token(settings.secret, list_id(settings), e)}" for e in emails
        ]
        server = subprocess.Popen(
            [sys.executable, "-m", "newsletter", "--config", str(config), "serve", "--port", str(port)],
            stdout=subprocess.DEVNULL,
        )
        try:
            for _ in range(600):
                try:
                    httpx.get(f"{base}/healthz")
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            started = time.perf_counter()
            results = post_all(urls, args.connections)
            elapsed = time.perf_counter() - started
        finally:
            server.terminate()
            server.wait()
        ok = sum(1 for code, _ in results if code == 200)
        recorded = store.subscribers.count(engine).get("unsubscribed", 0)
        slowest = max(t for _, t in results)
        print(
            f"{args.count} one-click unsubscribes over {args.connections} connections: {elapsed:.2f} s, "
            f"{args.count / elapsed:.0f}/s, slowest answer {slowest * 1000:.0f} ms; "
            f"{ok} answered 200, {recorded} recorded"
        )


if __name__ == "__main__":
    main()
