"""`send` over SMTP delivers from a lean image of its own process, with its lanes grouped in few workers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from conftest import RecordingHandler, SlowHandler, free_port, running_smtp, use_smtp
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from newsletter.compose import Composer
from newsletter.config import load_settings
from newsletter.deliver.workers import ForkedLanes, LoopLanes
from newsletter.models import DeliveryResult, DeliveryState, RenderedIssue
from newsletter.transports import Transport
from newsletter.transports.smtp import SmtpTransport

AS_OF = "2023-11-17"


def children(pid: int) -> list[int]:
    found = []
    for task in os.listdir(f"/proc/{pid}/task"):
        found += [int(c) for c in Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
    return found


@pytest.mark.parametrize("signed", [False, True], ids=["plain", "dkim"])
def test_the_process_that_delivers_carries_no_renderer_and_few_workers(example: Path, signed: bool) -> None:
    """Unsigned over plain SMTP, the send process delivers on its own event loop; signed, in
    worker processes, one per core."""
    seen: dict[str, object] = {}
    sender: list[int] = []

    def look(_envelope: object) -> None:
        if not seen and sender:  # the first message: the send process as it delivers
            pid = sender[0]
            seen["cmdline"] = Path(f"/proc/{pid}/cmdline").read_text()
            seen["maps"] = Path(f"/proc/{pid}/maps").read_text()
            seen["workers"] = len(children(pid))

    with running_smtp(RecordingHandler(answer=look)) as server:
        use_smtp(example, server.host, server.port)
        delivery = 'security = "none"\nconnections = 4'
        if signed:
            key = example.parent / "dkim.pem"
            key.write_bytes(
                rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )
            delivery += f'\ndkim_key = "{key}"\ndkim_selector = "s1"'
        example.write_text(example.read_text().replace('security = "none"', delivery))
        process = subprocess.Popen(
            [sys.executable, "-m", "newsletter", "--config", str(example), "send", "--as-of", AS_OF],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200"},
        )
        sender.append(process.pid)
        out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    assert "4 sent, 0 waiting, 0 failed" in out, out
    assert "sending to 4 recipient(s)" in out and "this run: 4 sent" in out, out
    assert "handed_off" in str(seen["cmdline"])  # the same process id, another image
    assert "lxml" not in str(seen["maps"])  # the renderer's (premailer's) C library is not loaded
    assert seen["workers"] == (min(4, len(os.sched_getaffinity(0))) if signed else 0)


class EndingTransport:
    """A transport whose send to ``end@`` raises SystemExit (a bug that would end a thread), and
    whose send to ``hang@`` never returns (a worker killed meanwhile takes it down)."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def open(self) -> None:
        pass

    def send(self, sender: str, recipient: str, data: object) -> DeliveryResult:
        if recipient.startswith("end@"):
            raise SystemExit
        if recipient.startswith("hang@"):
            time.sleep(600)
        return DeliveryResult(DeliveryState.SENT, 250, "ok")

    def close(self) -> None:
        pass


def composer_for(example: Path) -> Composer:
    rendered = RenderedIssue("Subject", "", "<p>hi @@name@@</p>", "hi @@name@@", "2023-W46")
    return Composer(load_settings(example), rendered)


def finish(
    lanes: ForkedLanes | LoopLanes, jobs: list[tuple[int, str, str, str]]
) -> dict[int, tuple[int, str, int, str]]:
    for job in jobs:
        lanes.submit(job)
    results: list[tuple[int, str, int, str]] = []
    deadline = time.monotonic() + 30
    while lanes.busy and time.monotonic() < deadline:
        results += lanes.collect(1.0)
    return {r[0]: r for r in results}


def test_a_lane_whose_send_raises_defers_that_message_and_goes_on(example: Path) -> None:
    lanes = ForkedLanes(composer_for(example), EndingTransport, "news@example.org", size=2, processes=1)
    try:
        assert lanes.idle() == 2
        first = finish(lanes, [(1, "end@example.org", "End", "{}"), (2, "ok@example.org", "Ok", "{}")])
        assert first[2][1] == "sent"
        assert first[1][1] == "deferred" and first[1][3] == "internal error: SystemExit()"
        assert lanes.idle() == 2  # the lane goes on, with a new transport
        again = finish(
            lanes, [(3, "again@example.org", "Again", "{}"), (4, "more@example.org", "More", "{}")]
        )
        assert sorted((r[0], r[1]) for r in again.values()) == [(3, "sent"), (4, "sent")]
    finally:
        lanes.close()


def test_a_worker_process_killed_defers_its_messages_and_another_takes_its_lanes(example: Path) -> None:
    lanes = ForkedLanes(composer_for(example), EndingTransport, "news@example.org", size=2, processes=1)
    try:
        (pid,) = lanes._pids
        lanes.submit((1, "hang@example.org", "Hang", "{}"))
        lanes.submit((2, "hang@example.org", "Hang", "{}"))
        assert lanes.collect(0.5) == []  # both jobs reached the worker, which hangs on them
        os.kill(pid, signal.SIGKILL)
        assert sorted(finish(lanes, []).values()) == [
            (1, "deferred", 0, f"the sending process {pid} ended"),
            (2, "deferred", 0, f"the sending process {pid} ended"),
        ]
        assert lanes.idle() == 2
        assert [p.pid != pid for p in lanes._processes.values()] == [True]  # another process took them
        again = finish(lanes, [(3, "a@example.org", "A", "{}"), (4, "b@example.org", "B", "{}")])
        assert sorted((r[0], r[1]) for r in again.values()) == [(3, "sent"), (4, "sent")]
    finally:
        lanes.close()


class Pipelining:
    """Says PIPELINING in its EHLO reply (aiosmtpd reads pipelined commands in order, it just does
    not say so): lanes then run their transactions in the worker's event loop."""

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: N802
        session.host_name = hostname
        responses.insert(-1, "250-PIPELINING")
        return responses


@dataclass
class PipeliningSlowHandler(Pipelining, SlowHandler):
    pass


@dataclass
class PipeliningHandler(Pipelining, RecordingHandler):
    pass


@pytest.mark.parametrize("where", ["worker", "here"])
def test_plain_smtp_lanes_share_one_thread_and_a_silent_server_is_a_timeout(
    example: Path, where: str
) -> None:
    """Two lanes over plain SMTP on one event loop, in a worker (a single thread) or in this
    process; a server that stops answering defers each lane's message as a timeout, and the next
    ones go out."""
    handler = PipeliningSlowHandler(delay=3.0)
    with running_smtp(handler) as server:

        def make() -> Transport:
            return SmtpTransport(server.host, server.port, "none", timeout=0.3)

        composer = composer_for(example)
        lanes: ForkedLanes | LoopLanes
        if where == "worker":
            lanes = ForkedLanes(composer, make, "news@example.org", size=2, processes=1)
            (pid,) = lanes._pids
            status = Path(f"/proc/{pid}/status").read_text().splitlines()
            assert [line for line in status if "Threads" in line] == ["Threads:\t1"]
        else:
            lanes = LoopLanes(composer, [make(), make()], "news@example.org")
        try:
            stalled = finish(lanes, [(1, "a@example.org", "A", "{}"), (2, "b@example.org", "B", "{}")])
            assert [stalled[i][1] for i in (1, 2)] == ["deferred", "deferred"]
            assert all("no answer from the server within 0.3 s" in stalled[i][3] for i in (1, 2))
            handler.delay = 0.0
            sent = finish(lanes, [(3, "c@example.org", "C", "{}"), (4, "d@example.org", "D", "{}")])
            assert [sent[i][1] for i in (3, 4)] == ["sent", "sent"]
        finally:
            lanes.close()
    assert {"c@example.org", "d@example.org"} <= {r.recipients[0] for r in handler.received}


def cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime


@pytest.mark.parametrize("where", ["worker", "here"])
def test_a_connection_the_server_closes_between_messages_is_replaced_without_spinning(
    example: Path, where: str
) -> None:
    """The server hangs up on an idle lane (its idle timeout): a worker stops watching that
    connection, rather than waking for it until the next job, and the next message goes over a
    new connection, wherever the lane runs."""
    handler = PipeliningHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, timeout=0.3)
    controller.start()
    try:
        composer = composer_for(example)
        lanes: ForkedLanes | LoopLanes
        if where == "worker":
            lanes = ForkedLanes(
                composer, lambda: SmtpTransport("127.0.0.1", port, "none"), "news@example.org", 1, processes=1
            )
        else:
            lanes = LoopLanes(composer, [SmtpTransport("127.0.0.1", port, "none")], "news@example.org")
        try:
            assert finish(lanes, [(1, "a@example.org", "A", "{}")])[1][1] == "sent"
            if where == "worker":
                (pid,) = lanes._pids  # type: ignore[union-attr]
                before = cpu_ticks(pid)
            time.sleep(2.0)  # the server's idle timeout (0.3 s) ends the connection meanwhile
            if where == "worker":
                assert cpu_ticks(pid) - before < 20  # a busy loop over 2 s would use far more
            second = finish(lanes, [(2, "b@example.org", "B", "{}")])[2]
            assert second[1] == "sent", second
        finally:
            lanes.close()
    finally:
        controller.stop()
    assert [r.recipients[0] for r in handler.received] == ["a@example.org", "b@example.org"]
