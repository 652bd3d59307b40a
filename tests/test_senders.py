"""Several `newsletter send` processes sharing one PostgreSQL database, each in its own folder as
on its own machine (they share only the database URL), to one SMTP server: every recipient
once between them; a sender killed mid-send leaves its rows to the others; rate limits and the
errors-in-a-row pause hold for all of them together."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest
import test_deliver
from conftest import run_cli
from test_deliver import AS_OF, Peer, project
from test_deliver_kill import wait_for
from zygote import AnyProcess, newsletter_process

from newsletter import store
from newsletter.config import load_settings
from newsletter.models import IssueState

# Several senders share a PostgreSQL database; on SQLite one sender at a time holds the send lock.
pytestmark = pytest.mark.postgresql_only
peer = test_deliver.peer  # the SMTP server of the delivery tests, as a fixture here too


def machines(example: Path, count: int) -> list[Path]:
    """``count`` copies of the project folder: each sender has its own config, CSV and working directory."""
    folders = []
    for n in range(count):
        folder = example.parent.parent / f"machine{n}"
        shutil.copytree(example.parent, folder)
        folders.append(folder / example.name)
    return folders


def start_send(config: Path) -> AnyProcess:
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("NEWSLETTER_CONFIG", None)
    return newsletter_process(
        ["--config", str(config), "send", "--as-of", AS_OF],
        cwd=config.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    )


def sent_by(output: str) -> int:
    match = re.search(r"this run: (\d+) sent", output)
    return int(match[1]) if match else 0


def issue_state(config: Path) -> tuple[IssueState, dict[str, int]]:
    engine = store.open_engine(load_settings(config).database_url)
    try:
        row = store.issues.get(engine, "2023-W46")
        assert row is not None
        return row.state, store.ledger.counts(engine, row.id)
    finally:
        engine.dispose()


def test_three_senders_deliver_every_recipient_once(example: Path, peer: tuple[Peer, int]) -> None:
    handler, port = peer
    addresses = [f"reader{i}@example.org" for i in range(900)]
    project(example, port, addresses, connections=2)
    configs = machines(example, 3)
    procs = [start_send(config) for config in configs]
    outputs = [proc.communicate(timeout=300) for proc in procs]
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, out + err
    counts = handler.counts()
    assert set(counts) == set(addresses)
    assert set(counts.values()) == {1}  # nobody twice
    shares = [sent_by(out) for out, _ in outputs]
    assert sum(shares) == len(addresses), shares
    assert sum(1 for n in shares if n) >= 2, shares  # the work was shared
    assert issue_state(configs[0]) == (IssueState.SENT, {"sent": len(addresses)})


def test_a_killed_sender_leaves_its_rows_to_the_others(example: Path, peer: tuple[Peer, int]) -> None:
    handler, port = peer
    addresses = [f"reader{i}@example.org" for i in range(600)]
    connections = 3
    # A lease far longer than the test: the survivor must see the victim gone by its session ending.
    project(example, port, addresses, connections=connections, lease_seconds=3600)
    victim_config, survivor_config = machines(example, 2)
    victim = start_send(victim_config)
    wait_for(lambda: len(handler.received) >= 50, "50 messages")
    survivor = start_send(survivor_config)
    wait_for(lambda: len(handler.received) >= 150, "150 messages")
    os.killpg(victim.pid, signal.SIGKILL)  # the sender and its workers, as a machine dies
    assert victim.wait() == -signal.SIGKILL
    out, err = survivor.communicate(timeout=300)
    assert survivor.returncode == 0, out + err
    counts = handler.counts()
    assert set(counts) == set(addresses)  # nobody missed
    duplicates = sum(n - 1 for n in counts.values())
    assert duplicates <= connections, {r: n for r, n in counts.items() if n > 1}
    state, ledger = issue_state(survivor_config)
    assert state == IssueState.SENT and ledger == {"sent": len(addresses)}
    assert "600 sent, 0 waiting, 0 failed" in out


def test_the_errors_in_a_row_pause_stops_every_sender(example: Path, peer: tuple[Peer, int]) -> None:
    handler, port = peer
    handler.refuse_all = "554 5.7.1 rejected"
    addresses = [f"reader{i}@example.org" for i in range(400)]
    # Only the server's refusals may count: a reply slower than the tests' usual 0.5 s timeout (a
    # loaded machine) would be an error the server never saw.
    project(example, port, addresses, connections=2, max_errors_in_a_row=30, timeout=30)
    procs = [start_send(config) for config in machines(example, 2)]
    outputs = [proc.communicate(timeout=300) for proc in procs]
    assert [proc.returncode for proc in procs] == [1, 1], outputs
    for out, _ in outputs:
        assert "paused after" in out
    failed = sum(handler.seen.values())
    # Each sender may have a message in flight per connection when the shared count reaches 30.
    assert 30 <= failed <= 30 + 2 * 2 * 2, failed
    # `send` again resumes after the operator fixed the cause.
    handler.refuse_all = ""
    again = run_cli("--config", str(example), "send", "--as-of", AS_OF)
    assert again.returncode == 0, again.stdout + again.stderr


def test_a_rate_limit_holds_for_all_senders_together(example: Path, peer: tuple[Peer, int]) -> None:
    handler, port = peer
    addresses = [f"reader{i}@example.org" for i in range(60)]
    project(example, port, addresses, connections=2, rate_per_second=20)
    stamps: list[float] = []
    handler.on_data = lambda _rcpt: stamps.append(time.monotonic())
    procs = [start_send(config) for config in machines(example, 2)]
    outputs = [proc.communicate(timeout=300) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], outputs
    assert Counter(handler.counts().values()) == {1: len(addresses)}
    # Once both run, each takes half of 20/s; measured over the last 40 messages (the first ones
    # may go before the second sender's first heartbeat), the pace stays near 20/s, never 40/s.
    window = sorted(stamps)[-40:]
    rate = (len(window) - 1) / (window[-1] - window[0])
    assert rate < 30, rate
