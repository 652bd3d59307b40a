"""Lanes: where messages are composed and handed to a server, one at a time per lane.

``ForkedLanes`` forks one worker process per SMTP connection ([delivery] connections). The parent
hands each worker one job (a ledger row's id and the subscriber), the worker composes the message
(and signs it), sends it over its own connection, reused for every message, and answers with the
server's verdict. The parent is the only process that touches the database: a worker gets its next
job only after the parent committed the previous verdict, so at any instant at most one message
per connection has been sent without its result in the ledger. That is the bound on duplicates
after a kill: at most ``connections`` messages, each with the same Message-ID as the first time.

A worker keeps nothing of the parent but its pipe: every other inherited descriptor is closed, so
the database's send lock dies with the parent, and the kernel kills the worker when the parent
dies (PR_SET_PDEATHSIG).

``InlineLanes`` runs one lane in the calling process: the Maildir transport, and tests that pass
a transport object.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import json
import os
import pickle
import resource
import select
import signal
import socket
from collections.abc import Callable
from typing import Any

from newsletter.compose import Composer
from newsletter.models import DeliveryResult, DeliveryState, Subscriber
from newsletter.transports import Transport

Job = tuple[int, str, str, str]  # ledger row id, email, name, extra fields as JSON
Result = tuple[int, str, int, str]  # ledger row id, state, code, reply

_PR_SET_PDEATHSIG = 1


def run_job(composer: Composer, transport: Transport, sender: str, job: Job) -> Result:
    row_id, email, name, fields = job
    try:
        data = composer.message(Subscriber(email, name, json.loads(fields or "{}")))
        result = transport.send(composer.envelope_sender(row_id, sender), email, data)
    except Exception as exc:  # a bug must not lose the row: it is retried, and errors in a row pause
        result = DeliveryResult(DeliveryState.DEFERRED, 0, f"internal error: {exc!r}")
    # plain str: cheaper to pickle; the ledger keeps 1,000 characters of a reply, a packet holds 64 KB
    return row_id, str(result.state), result.code, result.reply[:2000]


class Channel:
    """One end of a SOCK_SEQPACKET pair: each object is one packet, so one system call each way
    (a stream needs a length header and two reads)."""

    __slots__ = ("_buffer", "sock")
    MAX = 1 << 16  # each end's receive buffer is this big (zeroed, so resident): 64 KB each

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._buffer = bytearray(self.MAX)

    def fileno(self) -> int:
        return self.sock.fileno()

    def send(self, obj: object) -> None:
        data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
        if len(data) > self.MAX:
            raise ValueError(f"a job of {len(data)} bytes (a subscriber with huge extra fields?)")
        self.sock.send(data)

    def recv(self) -> Any:
        size = self.sock.recv_into(self._buffer)
        if not size:
            raise EOFError
        return pickle.loads(memoryview(self._buffer)[:size])

    def close(self) -> None:
        self.sock.close()


class InlineLanes:
    """One lane in this process: a job runs when its result is collected."""

    def __init__(self, composer: Composer, transport: Transport, sender: str) -> None:
        self.composer, self.transport, self.sender = composer, transport, sender
        self._job: Job | None = None
        self.size = 1

    @property
    def busy(self) -> int:
        return int(self._job is not None)

    def idle(self) -> int:
        return 1 - self.busy

    def submit(self, job: Job) -> None:
        assert self._job is None
        self._job = job

    def collect(self, timeout: float) -> list[Result]:
        if self._job is None:
            return []
        job, self._job = self._job, None
        return [run_job(self.composer, self.transport, self.sender, job)]

    def close(self) -> None:
        self.transport.close()


class ForkedLanes:
    """``size`` worker processes, each with its own connection; this process is the only writer."""

    def __init__(
        self, composer: Composer, make_transport: Callable[[], Transport], sender: str, size: int
    ) -> None:
        self.composer, self.make_transport, self.sender, self.size = composer, make_transport, sender, size
        self._free: list[_Worker] = []
        self._busy: dict[int, _Worker] = {}  # by descriptor: each holds one job
        self._poll = select.poll()  # registered once: a selector built per wait cost 30 us a round
        # Frozen until close: neither the workers' garbage collector nor this process's walks the
        # objects they share, so their pages stay shared instead of being copied into each of them.
        gc.collect()
        gc.freeze()
        self._free = [self._fork() for _ in range(size)]

    @property
    def busy(self) -> int:
        return len(self._busy)

    def idle(self) -> int:
        return len(self._free)

    def submit(self, job: Job) -> None:
        worker = self._free.pop()
        try:
            worker.conn.send(job)
        except (OSError, ValueError) as exc:
            if isinstance(exc, ValueError):
                worker.conn.send((job[0], job[1], job[2], "{}"))  # sent without its extra fields
            else:  # it died: the job goes to a new one
                worker = self._replace(worker)
                worker.conn.send(job)
        worker.job = job
        self._busy[worker.fd] = worker

    def collect(self, timeout: float) -> list[Result]:
        if not self._busy:
            return []
        results: list[Result] = []
        for fd, _ in self._poll.poll(timeout * 1000):
            worker = self._busy.pop(fd, None)
            if worker is None:  # an idle worker is readable only when it ended
                dead = next(w for w in self._free if w.fd == fd)
                self._free.remove(dead)
                self._free.append(self._replace(dead))
                continue
            job, worker.job = worker.job, None
            try:
                results.append(worker.conn.recv())
            except (EOFError, OSError):
                assert job is not None
                results.append((job[0], "deferred", 0, f"the sending process {worker.pid} ended"))
                worker = self._replace(worker)
            self._free.append(worker)
        return results

    def close(self) -> None:
        workers = self._free + list(self._busy.values())
        for worker in workers:
            with contextlib.suppress(OSError):
                worker.conn.send(None)
        for worker in workers:
            worker.conn.close()
            with contextlib.suppress(ChildProcessError):
                os.waitpid(worker.pid, 0)
        self._free, self._busy = [], {}
        gc.unfreeze()

    def _replace(self, worker: _Worker) -> _Worker:
        self._poll.unregister(worker.fd)
        worker.conn.close()
        with contextlib.suppress(ChildProcessError):
            os.waitpid(worker.pid, 0)
        return self._fork()

    def _fork(self) -> _Worker:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:  # the worker
            code = 1
            try:
                ours.close()
                _detach(theirs.fileno(), parent)
                _serve(Channel(theirs), self.composer, self.make_transport, self.sender)
                code = 0
            finally:
                os._exit(code)
        theirs.close()
        worker = _Worker(pid, Channel(ours))
        self._poll.register(worker.fd, select.POLLIN)
        return worker


class _Worker:
    __slots__ = ("conn", "fd", "job", "pid")

    def __init__(self, pid: int, conn: Channel) -> None:
        self.pid, self.conn, self.fd = pid, conn, conn.fileno()
        self.job: Job | None = None


def _detach(keep: int, parent: int) -> None:
    """Close every inherited descriptor but stdio and ``keep``; die with the parent; ignore Ctrl-C
    and SIGTERM sent to the whole group (the parent decides when to stop and lets each worker
    finish its message, so no transaction is cut short)."""
    limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    os.closerange(3, keep)
    os.closerange(keep + 1, limit if limit != resource.RLIM_INFINITY else 65536)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def _serve(conn: Channel, composer: Composer, make_transport: Callable[[], Transport], sender: str) -> None:
    transport = make_transport()
    try:
        while True:
            try:
                job = conn.recv()
            except (EOFError, OSError):
                return
            if job is None:
                return
            conn.send(run_job(composer, transport, sender, job))
    finally:
        transport.close()
