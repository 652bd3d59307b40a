"""Signup benchmark: N signups of distinct addresses from C concurrent connections against `newsletter serve`.

Starts the real command on a free port of 127.0.0.1 with a fresh SQLite file and the Maildir
transport, posts each address once through the signup form (a valid signed form time, from 200
client addresses given in X-Forwarded-For, 5 signups each: under the default limit of 10 an hour),
waits for the confirmation emails to land, and prints the time, the rate, the slowest answer, how
many were answered, recorded and mailed, and the most emails any one address got. Run from the
repository:

    python bench/signup.py [--count 1000] [--connections 50]
"""

from __future__ import annotations

import argparse
import mailbox
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from newsletter import store
from newsletter.compose import list_id
from newsletter.config import load_settings
from newsletter.models import SubscriberStatus
from newsletter.signup import form_stamp
from newsletter.store import signups

CLIENTS = 200


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def post_all(url: str, forms: list[dict[str, str]], connections: int) -> list[tuple[int, float]]:
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    with httpx.Client(limits=limits, timeout=120) as client:

        def one(i: int) -> tuple[int, float]:
            started = time.perf_counter()
            headers = {"X-Forwarded-For": f"198.51.100.{i % CLIENTS}"}
            response = client.post(url, data=forms[i], headers=headers)
            return response.status_code, time.perf_counter() - started

        with ThreadPoolExecutor(connections) as pool:
            return list(pool.map(one, range(len(forms))))


def delivered(outbox: Path, expected: int) -> Counter[str]:
    """Emails per recipient, once ``expected`` have landed or none has for 5 seconds."""
    seen, last_change, last = Counter[str](), time.monotonic(), -1
    while time.monotonic() - last_change < 5:
        box = mailbox.Maildir(outbox, create=True)
        seen = Counter(box[key]["To"] for key in box.iterkeys())
        if sum(seen.values()) >= expected:
            break
        if sum(seen.values()) != last:
            last, last_change = sum(seen.values()), time.monotonic()
        time.sleep(0.1)
    return seen


def wait_until_up(base: str) -> None:
    for _ in range(600):
        try:
            httpx.get(f"{base}/healthz")
            return
        except httpx.TransportError:
            time.sleep(0.1)


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
            '[newsletter]\ndatabase = "bench.db"\n[subscribers]\ncsv = ""\n'
            '[delivery]\ntransport = "maildir"\nmaildir = "outbox"\n'
            f'[web]\nbase_url = "http://127.0.0.1:{port}"\n'
        )
        settings = load_settings(config)
        engine = store.open_engine(settings.database_url)
        stamp = form_stamp(settings.secret, list_id(settings), time.time() - 10)
        forms = [
            {"email": f"reader{i:06d}@example.org", "name": "", "stamp": stamp} for i in range(args.count)
        ]
        base = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [sys.executable, "-m", "newsletter", "--config", str(config), "serve", "--port", str(port)],
            stdout=subprocess.DEVNULL,
        )
        try:
            wait_until_up(base)
            started = time.perf_counter()
            results = post_all(f"{base}/subscribe", forms, args.connections)
            elapsed = time.perf_counter() - started
            recorded = signups.counts(engine)
            seen = delivered(Path(tmp) / "outbox", recorded["mailed"])
        finally:
            server.terminate()
            server.wait()
        ok = sum(1 for code, _ in results if code == 200)
        pending = store.subscribers.count(engine).get(SubscriberStatus.PENDING, 0)
        slowest = max(t for _, t in results)
        print(
            f"{args.count} signups over {args.connections} connections: {elapsed:.2f} s, "
            f"{args.count / elapsed:.0f}/s, slowest answer {slowest * 1000:.0f} ms; "
            f"{ok} answered 200, {recorded['requests']} recorded, {pending} pending, "
            f"{recorded['mailed']} confirmations sent, {sum(seen.values())} in the outbox "
            f"to {len(seen)} addresses, at most {max(seen.values(), default=0)} per address"
        )


if __name__ == "__main__":
    main()
