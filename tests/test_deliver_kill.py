"""kill -9 in the middle of a send, twice, then `send` again: nobody missed, and only the messages
in flight (at most one per connection) arrive twice, with the same Message-ID."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import psycopg
from aiosmtpd.controller import Controller
from conftest import free_port, run_cli
from test_deliver import AS_OF, Peer, project
from zygote import newsletter_process

CONNECTIONS = 4


def wait_for(condition, what: str, limit: float = 120.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.005)


def lock_is_free(lock: Path) -> bool:
    with open(lock, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(handle, fcntl.LOCK_UN)
        return True


def sender_is_gone(example: Path, database: str | None) -> bool:
    """The killed send's workers are gone too: on SQLite its send lock (a file lock the workers
    inherit) is free; on PostgreSQL no session but this one is connected to the database."""
    if database is None:
        return lock_is_free(example.parent / "newsletter.db.send-lock")
    with psycopg.connect(database) as conn:
        (others,) = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()  # type: ignore[misc]
    return others == 0


def test_killed_sends_resume_without_missing_anyone(example: Path, database: str | None) -> None:
    handler = Peer()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        addresses = [f"reader{i}@example.org" for i in range(600)]
        # lease_seconds: on PostgreSQL a killed sender's claimed rows go to the next send when its
        # lease runs out (60 s by default)
        project(example, port, addresses, connections=CONNECTIONS, lease_seconds=2)
        env = {**os.environ, "NO_COLOR": "1"}
        env.pop("NEWSLETTER_CONFIG", None)
        kills = 0
        for kill_at in (100, 350):
            proc = newsletter_process(
                ["--config", str(example), "send", "--as-of", AS_OF],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=env,
            )
            wait_for(lambda n=kill_at: len(handler.received) >= n, f"{kill_at} messages")
            os.kill(proc.pid, signal.SIGKILL)
            assert proc.wait() == -signal.SIGKILL
            kills += 1
            # the workers die with the parent, and the send lock (or their sessions) with them
            wait_for(lambda: sender_is_gone(example, database), "the killed send's workers to go")
        assert len(handler.received) < len(addresses)
        final = run_cli("--config", str(example), "send", "--as-of", AS_OF)
        assert final.returncode == 0, final.stderr
        assert "600 sent, 0 waiting, 0 failed" in final.stdout
    finally:
        controller.stop()
    counts = Counter(r for r, _ in handler.received)
    assert set(counts) == set(addresses)  # nobody missed
    twice = {r: n for r, n in counts.items() if n > 1}
    assert sum(n - 1 for n in twice.values()) <= kills * CONNECTIONS, twice
    for rcpt in twice:
        ids = {
            data.split(b"Message-ID: ", 1)[1].split(b"\r\n", 1)[0]
            for r, data in handler.received
            if r == rcpt
        }
        assert len(ids) == 1  # a duplicate carries the same Message-ID
