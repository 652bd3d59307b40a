"""Lanes: where messages are composed and handed to a server, one at a time per lane.

``ForkedLanes`` runs one lane per SMTP connection ([delivery] connections) in worker processes.
The parent hands each lane one job (a ledger row's id and the subscriber), the lane composes the
message (and signs it), sends it over its own connection, reused for every message, and answers
with the server's verdict. The parent is the only process that touches the database: a lane gets
its next job only after the parent committed the previous verdict, so at any instant at most one
message per connection has been sent without its result in the ledger. That is the bound on
duplicates after a kill: at most ``connections`` messages, each with the same Message-ID as the
first time.

A worker process holds several lanes, as many processes as the machine has cores (no more than
lanes): a lane spends most of its time waiting for the server, and a forked Python process copies
5-6 MB of the parent's pages that it touches (reference counts, pymalloc pools) whatever it does.
Eight processes for eight connections cost 45 MB of the send's memory; two processes of four
lanes, 12 MB, at the same rate on two cores (bench/send.py). Over plain SMTP a worker serves its
lanes from one event loop (epoll: the parent's jobs and the servers' replies, as many as are ready
per wakeup; the transaction is the transport's ``begin``/``resume``); over TLS, or with any other
transport, each lane has a thread of its own, blocking on its connection.

A worker keeps nothing of the parent but its lanes' sockets: every other inherited descriptor is
closed, so the database's send lock dies with the parent, and the kernel kills the worker when the
parent dies (PR_SET_PDEATHSIG). A lane whose thread ends closes its socket: the parent sees it end
and starts a process of one lane in its place.

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
import threading
import time
from collections.abc import Callable
from typing import Any

from newsletter.compose import Composed, Composer
from newsletter.models import DeliveryResult, DeliveryState, Subscriber
from newsletter.transports import Transport

Job = tuple[int, str, str, str]  # ledger row id, email, name, extra fields as JSON
Result = tuple[int, str, int, str]  # ledger row id, state, code, reply

_PR_SET_PDEATHSIG = 1


def run_job(composer: Composer, transport: Transport, sender: str, job: Job) -> Result:
    try:
        result = transport.send(*envelope_and_message(composer, sender, job))
    except Exception as exc:  # a bug must not lose the row: it is retried, and errors in a row pause
        result = internal_error(exc)
    return verdict(job, result)


def envelope_and_message(composer: Composer, sender: str, job: Job) -> tuple[str, str, Composed]:
    """The job's envelope sender, recipient and composed message."""
    row_id, email, name, fields = job
    data = composer.message(Subscriber(email, name, json.loads(fields or "{}")))
    return composer.envelope_sender(row_id, sender), email, data


def internal_error(exc: Exception) -> DeliveryResult:
    return DeliveryResult(DeliveryState.DEFERRED, 0, f"internal error: {exc!r}")


def verdict(job: Job, result: DeliveryResult) -> Result:
    # plain str: cheaper to pickle; the ledger keeps 1,000 characters of a reply, a packet holds 64 KB
    return job[0], str(result.state), result.code, result.reply[:2000]


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


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


class ForkedLanes:
    """``size`` lanes, each with its own connection, in ``processes`` worker processes (default: one
    per core, at most ``size``); this process is the only writer."""

    def __init__(
        self,
        composer: Composer,
        make_transport: Callable[[], Transport],
        sender: str,
        size: int,
        processes: int = 0,
    ) -> None:
        self.composer, self.make_transport, self.sender, self.size = composer, make_transport, sender, size
        self._free: list[_Worker] = []
        self._busy: dict[int, _Worker] = {}  # by descriptor: each holds one job
        self._pids: set[int] = set()  # the worker processes not reaped yet
        self._poll = select.poll()  # registered once: a selector built per wait cost 30 us a round
        # Frozen until close: neither the workers' garbage collector nor this process's walks the
        # objects they share, so their pages stay shared instead of being copied into each of them.
        gc.collect()
        gc.freeze()
        count = max(1, min(size, processes or _cores()))
        for i in range(count):
            self._free += self._fork(size // count + (i < size % count))

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
            if worker is None:  # an idle lane is readable only when it ended
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
        for pid in self._pids:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
        self._free, self._busy, self._pids = [], {}, set()
        gc.unfreeze()

    def _replace(self, worker: _Worker) -> _Worker:
        """A process of one lane in place of ``worker``'s lane, which ended (its thread, or its process)."""
        self._poll.unregister(worker.fd)
        worker.conn.close()
        with contextlib.suppress(ChildProcessError):
            if os.waitpid(worker.pid, os.WNOHANG)[0]:  # the process ended, not just that lane
                self._pids.discard(worker.pid)
        return self._fork(1)[0]

    def _fork(self, lanes: int) -> list[_Worker]:
        pairs = [socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET) for _ in range(lanes)]
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:  # the worker
            code = 1
            try:
                for ours, _ in pairs:
                    ours.close()
                _detach([theirs.fileno() for _, theirs in pairs], parent)
                _serve_lanes([Channel(theirs) for _, theirs in pairs], self)
                code = 0
            finally:
                os._exit(code)
        self._pids.add(pid)
        workers = []
        for ours, theirs in pairs:
            theirs.close()
            worker = _Worker(pid, Channel(ours))
            self._poll.register(worker.fd, select.POLLIN)
            workers.append(worker)
        return workers


class _Worker:
    """One lane as the parent sees it: its socket, its process, the job it holds."""

    __slots__ = ("conn", "fd", "job", "pid")

    def __init__(self, pid: int, conn: Channel) -> None:
        self.pid, self.conn, self.fd = pid, conn, conn.fileno()
        self.job: Job | None = None


def _detach(keep: list[int], parent: int) -> None:
    """Close every inherited descriptor but stdio and ``keep``; die with the parent; ignore Ctrl-C
    and SIGTERM sent to the whole group (the parent decides when to stop and lets each worker
    finish its message, so no transaction is cut short)."""
    limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    start = 3
    for fd in sorted(keep):
        os.closerange(start, fd)
        start = fd + 1
    os.closerange(start, limit if limit != resource.RLIM_INFINITY else 65536)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def _serve_lanes(conns: list[Channel], lanes: ForkedLanes) -> None:
    """The process's lanes: one event loop when every transport can run its transactions without
    blocking (plain SMTP), else a thread each; return when every one ended."""
    transports = [lanes.make_transport() for _ in conns]
    if all(getattr(t, "evented", False) for t in transports):
        _EventLoop(conns, transports, lanes.composer, lanes.sender).run()
        return
    threads = [
        threading.Thread(target=_serve, args=(conn, lanes.composer, transport, lanes.sender))
        for conn, transport in zip(conns, transports, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _serve(conn: Channel, composer: Composer, transport: Transport, sender: str) -> None:
    """One lane: jobs in, verdicts out, over one connection; the lane's socket closes when it ends
    (also on a bug), which the parent sees."""
    try:
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
    finally:
        conn.close()


class _Lane:
    """One lane in an event loop: its channel to the parent, its transport, the job in flight."""

    __slots__ = ("conn", "deadline", "job", "sock", "transport", "writing")

    def __init__(self, conn: Channel, transport: Any) -> None:
        self.conn, self.transport = conn, transport
        self.job: Job | None = None
        self.sock: socket.socket | None = None  # the connection's socket, as registered
        self.writing = False  # registered for writability too
        self.deadline = 0.0


class _EventLoop:
    """A worker's lanes served by one thread: the parent's jobs and the servers' replies as they
    come, several per wakeup (epoll).

    A thread per lane cost about three context switches a message (the job, the replies to
    MAIL/RCPT/DATA, the reply to the data), measured as 42% of the workers' time in the kernel.
    The transaction is the transport's state machine (``begin``/``resume``); a lane waiting for
    its server longer than the transport's timeout gets the timeout verdict and loses its
    connection. Connecting (and reconnecting after a drop) blocks the loop: that is local plain
    SMTP here, TLS connections keep a thread each."""

    def __init__(self, conns: list[Channel], transports: list[Any], composer: Composer, sender: str) -> None:
        self.composer, self.sender = composer, sender
        self.epoll = select.epoll()
        self.lanes: dict[int, _Lane] = {}  # by descriptor: the channels' and the connections'
        self.live = 0
        self.verdicts: list[tuple[_Lane, Result]] = []  # decided in this round, not sent yet
        for conn, transport in zip(conns, transports, strict=True):
            lane = _Lane(conn, transport)
            self.lanes[conn.fileno()] = lane
            self.epoll.register(conn.fileno(), select.EPOLLIN)
            self.live += 1

    def run(self) -> None:
        try:
            while self.live:
                waiting = [lane.deadline for lane in self.lanes.values() if lane.job is not None]
                timeout = max(0.0, min(waiting) - time.monotonic()) if waiting else -1
                for fd, _events in self.epoll.poll(timeout):
                    lane = self.lanes.get(fd)
                    if lane is None or lane.conn.sock.fileno() == -1:
                        continue  # its lane ended earlier in this round
                    if fd == lane.conn.fileno():
                        self.job(lane)
                    elif lane.sock is not None and fd == lane.sock.fileno():
                        if lane.job is not None:
                            self.resume(lane)
                        else:  # the server hung up (or spoke) between messages: reconnect for the next
                            self.forget(lane)  # else its readiness would wake the loop again and again
                            lane.transport.cancel()
                if waiting:
                    now = time.monotonic()
                    for lane in list(self.lanes.values()):
                        if lane.job is not None and lane.deadline <= now:
                            self.finish(lane, lane.transport.timed_out())
                self.tell()
        finally:
            for lane in set(self.lanes.values()):
                self.end(lane)
            self.epoll.close()

    def job(self, lane: _Lane) -> None:
        try:
            job = lane.conn.recv()
        except (EOFError, OSError):
            job = None
        if job is None:
            self.end(lane)
            return
        lane.job = job
        try:
            outcome = lane.transport.begin(*envelope_and_message(self.composer, self.sender, job))
        except Exception as exc:  # a bug must not lose the row: it is retried, and errors in a row pause
            self.forget(lane)
            lane.transport.cancel()
            outcome = internal_error(exc)
        except BaseException:
            self.end(lane)  # as a lane's thread ending: the parent replaces the lane
            return
        if isinstance(outcome, DeliveryResult):
            self.finish(lane, outcome)
            return
        if outcome is not lane.sock:  # a new connection
            self.forget(lane)
            lane.sock = outcome
            self.lanes[outcome.fileno()] = lane
            self.epoll.register(outcome.fileno(), select.EPOLLIN)
        self.watch(lane)

    def resume(self, lane: _Lane) -> None:
        try:
            result = lane.transport.resume()
        except Exception as exc:
            lane.transport.cancel()
            result = internal_error(exc)
        if result is None:
            self.watch(lane)
        else:
            self.finish(lane, result)

    def watch(self, lane: _Lane) -> None:
        """Wait for the lane's server: for writability too while the data is not all out."""
        assert lane.sock is not None
        lane.deadline = time.monotonic() + lane.transport.timeout
        writing = lane.transport.writing
        if writing != lane.writing:
            lane.writing = writing
            self.epoll.modify(lane.sock.fileno(), select.EPOLLIN | (select.EPOLLOUT if writing else 0))

    def finish(self, lane: _Lane, result: DeliveryResult) -> None:
        """The verdict for the parent (at the end of the round); the lane waits for its next job."""
        job, lane.job = lane.job, None
        assert job is not None
        if lane.sock is not None and lane.sock.fileno() == -1:  # the transport dropped the connection
            self.forget(lane)
        self.verdicts.append((lane, verdict(job, result)))

    def tell(self) -> None:
        """The verdicts of a round to the parent, together: it wakes once for them and commits
        them as one group, rather than waking for the first while the others are on their way."""
        verdicts, self.verdicts = self.verdicts, []
        for lane, decided in verdicts:
            try:
                lane.conn.send(decided)
            except OSError:
                self.end(lane)

    def forget(self, lane: _Lane) -> None:
        """Stop watching the lane's connection (closed descriptors left epoll by themselves)."""
        sock, lane.sock, lane.writing = lane.sock, None, False
        if sock is None:
            return
        fd = sock.fileno()
        if fd != -1:
            self.epoll.unregister(fd)
        for key in [k for k, v in self.lanes.items() if v is lane and k != lane.conn.fileno()]:
            del self.lanes[key]

    def end(self, lane: _Lane) -> None:
        """The lane ends: its connection closes (said goodbye to unless a transaction is in
        flight), then its channel, which the parent sees."""
        if lane.conn.sock.fileno() == -1:
            return
        self.live -= 1
        self.forget(lane)
        with contextlib.suppress(Exception):
            if lane.job is not None:
                lane.transport.cancel()
            else:
                lane.transport.close()
        lane.job = None
        fd = lane.conn.fileno()
        self.epoll.unregister(fd)
        del self.lanes[fd]
        lane.conn.close()
