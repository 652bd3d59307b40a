"""The send loop against a real SMTP server (aiosmtpd on 127.0.0.1) through the real command:
temporary and permanent refusals, 421, dropped and stalled connections, several connections,
unsubscribes during the send, the errors-in-a-row pause, --retry-failed, --dry-run."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from conftest import free_port, run_cli
from sqlalchemy import select

from newsletter import store
from newsletter.config import load_settings
from newsletter.deliver.rate import RateLimit
from newsletter.store import schema

AS_OF = "2023-11-17"


@dataclass
class Peer:
    """An SMTP server whose answer depends on the recipient's local part (before a digit):

    temp: 450 the first time; busy: 421 the first time; drop: connection closed after the data,
    the first time; slow: no answer for ``stall`` seconds, the first time; gone: 550 5.1.1 at RCPT;
    spam: 554 5.7.1 to the data, while ``refuse_spam``; anyone else: accepted.
    """

    stall: float = 3.0
    refuse_spam: bool = True
    refuse_all: str = ""
    received: list[tuple[str, bytes]] = field(default_factory=list)
    seen: Counter[str] = field(default_factory=Counter)
    on_data: Callable[[str], None] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address.startswith("gone"):
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        rcpt = envelope.rcpt_tos[0]
        kind = rcpt.split("@")[0].rstrip("0123456789")
        with self.lock:
            self.seen[rcpt] += 1
            first = self.seen[rcpt] == 1
        if self.on_data is not None:
            self.on_data(rcpt)
        if self.refuse_all:
            return self.refuse_all
        if kind == "temp" and first:
            return "450 4.2.0 mailbox busy, try later"
        if kind == "busy" and first:
            return "421 4.3.2 service shutting down"
        if kind == "drop" and first:
            server.transport.abort()
            return "250 never seen by the client"
        if kind == "slow" and first:
            await asyncio.sleep(self.stall)
            return "451 4.4.2 too slow"
        if kind == "spam" and self.refuse_spam:
            return "554 5.7.1 message rejected as spam"
        with self.lock:
            self.received.append((rcpt, envelope.original_content))
        return "250 2.0.0 queued"

    def counts(self) -> Counter[str]:
        with self.lock:
            return Counter(r for r, _ in self.received)


@pytest.fixture
def peer() -> Iterator[tuple[Peer, int]]:
    handler = Peer()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


def project(example: Path, port: int, addresses: list[str], **delivery: object) -> Path:
    """The NATO example sending over SMTP to ``port``, to ``addresses``."""
    lines = ["email,name,city"] + [f"{a},Reader {i},Lund" for i, a in enumerate(addresses)]
    (example.parent / "subscribers.csv").write_text("\n".join(lines) + "\n")
    settings = {
        "transport": '"smtp"',
        "host": '"127.0.0.1"',
        "port": port,
        "security": '"none"',
        "timeout": 0.5,
        "retry_base_seconds": 0.05,
        "connections": 3,
        "max_errors_in_a_row": 50,
        "readiness": '"off"',  # a test server on 127.0.0.1
    } | {
        k: (f'"{v}"' if isinstance(v, str) else str(v).lower() if isinstance(v, bool) else v)
        for k, v in delivery.items()
    }
    text = example.read_text().replace(
        'transport = "maildir"\n', "".join(f"{k} = {v}\n" for k, v in settings.items())
    )
    example.write_text(text)
    return example


def ledger(example: Path) -> dict[str, tuple[str, int, str]]:
    """email -> (state, code, reply) for the example's issue."""
    engine = store.open_engine(load_settings(example).database_url)
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                schema.subscribers.c.email,
                schema.deliveries.c.state,
                schema.deliveries.c.code,
                schema.deliveries.c.reply,
            ).join(schema.deliveries, schema.deliveries.c.subscriber_id == schema.subscribers.c.id)
        ).all()
    engine.dispose()
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


def test_every_deliverable_recipient_is_sent_and_every_5xx_failed_with_its_reply(example: Path, peer) -> None:
    handler, port = peer
    good = [f"reader{i}@example.org" for i in range(30)]
    odd = [f"{kind}1@example.org" for kind in ("temp", "busy", "drop", "slow")] + ["temp2@example.org"]
    bad = ["gone1@example.org", "spam1@example.org"]
    project(example, port, good[:15] + odd + bad + good[15:])
    result = run_cli("--config", str(example), "send", "--as-of", AS_OF, "--wait", "60")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "35 sent, 0 waiting, 2 failed" in result.stdout
    # each deliverable address exactly once: refused, dropped and stalled attempts were never accepted
    assert handler.counts() == Counter(good + odd)
    states = ledger(example)
    assert all(states[a][0] == "sent" for a in good + odd)
    assert states["temp1@example.org"][0] == "sent" and handler.seen["temp1@example.org"] == 2
    assert states["gone1@example.org"][:2] == ("failed", 550)
    assert states["spam1@example.org"] == ("failed", 554, "5.7.1 message rejected as spam")
    status = run_cli("--config", str(example), "status", "--failed")
    assert "gone1@example.org  550 5.1.1 <gone1@example.org>: Recipient address rejected" in status.stdout
    assert "spam1@example.org  554 5.7.1 message rejected as spam" in status.stdout
    assert "2023-W46" in status.stdout and "│ sent  │" in status.stdout
    bounced = run_cli("--config", str(example), "subscribers", "list", "--status", "bounced")
    assert "gone1@example.org" in bounced.stdout and "spam1@example.org" not in bounced.stdout
    # the same Message-ID for the same recipient, another for the next
    ids = {r: data.split(b"Message-ID: ", 1)[1].split(b"\r\n", 1)[0] for r, data in handler.received}
    assert len(set(ids.values())) == len(ids)


def test_retry_failed_sends_the_failed_again(example: Path, peer) -> None:
    handler, port = peer
    project(example, port, ["ada@example.org", "spam1@example.org", "grace@example.org"])
    first = run_cli("--config", str(example), "send", "--as-of", AS_OF)
    assert first.returncode == 0, first.stderr
    assert "2 sent, 0 waiting, 1 failed" in first.stdout
    again = run_cli("--config", str(example), "send", "--as-of", AS_OF)
    assert "sent on" in again.stdout and "nothing to do" in again.stdout
    handler.refuse_spam = False
    retried = run_cli("--config", str(example), "send", "--as-of", AS_OF, "--retry-failed")
    assert retried.returncode == 0, retried.stderr
    assert "3 sent, 0 waiting, 0 failed" in retried.stdout
    assert handler.counts() == Counter(["ada@example.org", "spam1@example.org", "grace@example.org"])


def test_an_unsubscribe_during_the_send_takes_effect(example: Path, peer) -> None:
    handler, port = peer
    addresses = [f"reader{i}@example.org" for i in range(300)]
    project(example, port, addresses, connections=2)
    engine = store.open_engine(load_settings(example).database_url)
    leaving = ["reader150@example.org", "reader299@example.org"]  # one already read into memory, one not

    def unsubscribe(rcpt: str) -> None:
        if rcpt == "reader0@example.org":
            for address in leaving:
                store.subscribers.set_status(engine, address, "unsubscribed", "one-click")

    handler.on_data = unsubscribe
    result = run_cli("--config", str(example), "send", "--as-of", AS_OF)
    engine.dispose()
    assert result.returncode == 0, result.stderr
    assert handler.counts() == Counter(a for a in addresses if a not in leaving)
    states = ledger(example)
    for address in leaving:
        assert states[address][0] == "skipped"
    assert "298 sent" in result.stdout and "2 skipped" in result.stdout


def test_errors_in_a_row_pause_the_send_with_a_report_and_the_next_send_finishes(example: Path, peer) -> None:
    handler, port = peer
    addresses = [f"reader{i}@example.org" for i in range(20)]
    project(example, port, addresses, max_errors_in_a_row=5, connections=1)
    handler.refuse_all = "451 4.3.0 queue full"
    paused = run_cli("--config", str(example), "send", "--as-of", AS_OF)
    assert paused.returncode == 1
    assert (
        "paused after 5 errors in a row; the last: reader4@example.org: 451 4.3.0 queue full" in paused.stdout
    )
    assert "0 sent, 20 waiting, 0 failed" in paused.stdout
    status = run_cli("--config", str(example), "status")
    assert "│ sending │" in status.stdout
    handler.refuse_all = ""
    finished = run_cli("--config", str(example), "send", "--as-of", AS_OF, "--wait", "30")
    assert finished.returncode == 0, finished.stderr
    assert "20 sent, 0 waiting, 0 failed" in finished.stdout
    assert handler.counts() == Counter(addresses)


def test_dry_run_says_what_it_would_send_and_sends_nothing(example: Path, peer) -> None:
    handler, port = peer
    project(example, port, ["ada@example.org", "grace@example.org"], connections=4)
    result = run_cli("--config", str(example), "send", "--as-of", AS_OF, "--dry-run")
    assert result.returncode == 0, result.stderr
    assert (
        f'would send "What\'s new at NATO: 17 November 2023" to 2 subscriber(s) over SMTP to 127.0.0.1:{port}, '
        "security none, 4 connection(s); nothing was sent or recorded"
    ) in " ".join(result.stdout.split())
    assert handler.seen == Counter()
    assert ledger(example) == {}


@pytest.mark.sqlite_only
def test_rate_limits_per_second_and_per_hour() -> None:
    per_second = RateLimit(per_second=2)
    assert per_second.delay(100.0) == 0.0
    per_second.take(100.0)
    per_second.take(100.0)
    assert per_second.delay(100.0) == pytest.approx(0.5)
    assert per_second.delay(100.5) == 0.0
    # 3 an hour, 2 of them already used by an earlier send 10 minutes ago
    per_hour = RateLimit(per_hour=3, history=[(6000.0, 2)])
    assert per_hour.delay(6600.0) == 0.0
    per_hour.take(6600.0)
    assert per_hour.delay(6601.0) == pytest.approx(6000.0 + 60 + 3600 - 6601.0)
    assert per_hour.delay(6000.0 + 60 + 3600) == 0.0


@pytest.mark.sqlite_only
def test_delivery_modules_leave_the_rendering_and_fetching_stacks_out() -> None:
    """What sending needs (the send loop, compose with DKIM, the transports) imports neither the
    renderer's stack nor the feeds' nor dkimpy's DNS: a process that only delivers stays small."""
    heavy = [
        "jinja2",
        "mjml",
        "premailer",
        "cssutils",
        "lxml",
        "httpx",
        "feedparser",
        "uvicorn",
        "dkim",
        "dns",
    ]
    code = (
        "import sys, newsletter.deliver, newsletter.compose, newsletter.transports.smtp; "
        f"print(' '.join(m for m in {heavy!r} if m in sys.modules))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert loaded.stdout.split() == []
