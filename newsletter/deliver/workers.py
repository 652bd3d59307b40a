"""Lanes: where messages are composed and handed to a server, one at a time per lane.

A lane is one SMTP connection ([delivery] connections of them), reused for every message. The
sending process hands each lane one job (a ledger row's id and the subscriber), the lane composes
the message (and signs it), sends it, and answers with the server's verdict. Only the sending
process touches the database: a lane gets its next job only after the verdict of its previous one
is committed, so at any instant at most one message per connection has been sent without its
result in the ledger. That is the bound on duplicates after a kill: at most ``connections``
messages, each with the same Message-ID as the first time.

Where the lanes run (``smtp_lanes``):

- Plain SMTP, messages not signed: ``LoopLanes``, on the sending process's own event loop (epoll;
  the transaction is the transport's ``begin``/``resume``: MAIL, RCPT and DATA in one write, the
  message in one sendmsg). A message then costs less work than waking another process to do it:
  bench/send.py (50,000 recipients, 8 connections, 2 cores, three runs of each, alternated)
  measured 215-275 us of CPU a message this way against 291-322 us with the same loop in worker
  processes, and 0.95-1.06 of smtp-source's rate against 0.72-0.81.
- Signed messages (about 0.7 ms of CPU each) or TLS: ``ForkedLanes``, in worker processes, as many
  as the machine has cores (no more than lanes), so signing spreads over the cores. A worker serves
  its plain lanes from one event loop, and gives each TLS lane a thread of its own, blocking on its
  connection. The parent and a worker talk over one channel: a hand-out round's jobs go as one
  packet, a round's verdicts come back as one. A worker keeps nothing of the parent but its
  channel (every other inherited descriptor is closed, so the database's send lock dies with the
  parent), and the kernel kills it when the parent dies (PR_SET_PDEATHSIG). A worker process that
  ends (killed, crashed) closes its channel: the parent defers its lanes' jobs and starts another.
- ``InlineLanes``: one lane in the calling process, blocking: the Maildir transport, and tests that
  pass a transport object.

Wherever it runs, a job whose composing or sending raises gets a deferred verdict (a bug must not
lose the row; errors in a row pause the send), and its lane goes on with a new connection.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import json
import os
import pickle
import queue
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
_NEVER = float("inf")


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


def internal_error(exc: BaseException) -> DeliveryResult:
    """The verdict when composing or sending raised: a bug must not lose the row (it is retried,
    and errors in a row pause), nor end the lane."""
    return DeliveryResult(DeliveryState.DEFERRED, 0, f"internal error: {exc!r}")


def verdict(job: Job, result: DeliveryResult) -> Result:
    # plain str: cheaper to pickle; the ledger keeps 1,000 characters of a reply
    return job[0], str(result.state), result.code, result.reply[:1000]


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
            raise ValueError(f"{len(data)} bytes in one packet")
        self.sock.send(data)

    def send_all(self, items: list[Any], shrink: Callable[[Any], Any] | None = None) -> None:
        """``items`` as one packet, or as several when they do not fit in one; an item too big
        alone goes as ``shrink`` makes it."""
        try:
            self.send(items)
        except ValueError:
            if len(items) > 1:
                half = len(items) // 2
                self.send_all(items[:half], shrink)
                self.send_all(items[half:], shrink)
            elif shrink is not None:
                self.send([shrink(items[0])])
            else:
                raise

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


def smtp_lanes(
    composer: Composer, make_transport: Callable[[], Transport], sender: str, size: int
) -> LoopLanes | ForkedLanes:
    """``size`` SMTP lanes: on this process's event loop for plain connections carrying unsigned
    messages, else in worker processes (see the module's docstring for the figures)."""
    first = make_transport()
    if getattr(first, "evented", False) and composer.signer is None:
        return LoopLanes(composer, [first, *(make_transport() for _ in range(size - 1))], sender)
    return ForkedLanes(composer, make_transport, sender, size)


class LoopLanes:
    """A lane per transport (plain SMTP) on this process's own event loop, with no worker process."""

    def __init__(self, composer: Composer, transports: list[Transport], sender: str) -> None:
        self.size = len(transports)
        self.loop = _EventLoop(transports, composer, sender)
        self._free = list(range(self.size))

    @property
    def busy(self) -> int:
        return self.size - len(self._free)

    def idle(self) -> int:
        return len(self._free)

    def submit(self, job: Job) -> None:
        """Compose the job's message and start its transaction."""
        self.loop.job(self.loop.lanes[self._free.pop()], job)

    def collect(self, timeout: float) -> list[Result]:
        if not self.busy:
            return []
        verdicts = self.loop.round(0 if self.loop.verdicts else timeout)
        self._free += [lane for lane, _ in verdicts]
        return [result for _, result in verdicts]

    def close(self) -> None:
        self.loop.close()


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


class ForkedLanes:
    """``size`` lanes, each with its own connection, in ``processes`` worker processes (default: one
    per core, at most ``size``). A forked Python process copies 5-6 MB of the parent's pages that
    it touches (reference counts, pymalloc pools) whatever it does, so a process holds several
    lanes: eight processes for eight connections cost 45 MB, two of four lanes 12 MB."""

    def __init__(
        self,
        composer: Composer,
        make_transport: Callable[[], Transport],
        sender: str,
        size: int,
        processes: int = 0,
    ) -> None:
        self.composer, self.make_transport, self.sender = composer, make_transport, sender
        self._processes: dict[int, _Process] = {}  # by their channel's descriptor
        self._free: list[tuple[_Process, int]] = []  # idle lanes: a process and the lane's number in it
        self._busy = 0
        self._pids: set[int] = set()  # the worker processes not reaped yet
        self._poll = select.poll()  # registered once: a selector built per wait cost 30 us a round
        # Frozen until close: neither the workers' garbage collector nor this process's walks the
        # objects they share, so their pages stay shared instead of being copied into each of them.
        gc.collect()
        gc.freeze()
        count = max(1, min(size, processes or _cores()))
        for i in range(count):
            self._start(size // count + (i < size % count))

    @property
    def busy(self) -> int:
        return self._busy

    def idle(self) -> int:
        return len(self._free)

    def submit(self, job: Job) -> None:
        """Give ``job`` to an idle lane; it leaves with the round's other jobs, in ``collect``."""
        process, lane = self._free.pop()
        process.jobs[lane] = job
        process.outbox.append((lane, job))
        self._busy += 1

    def collect(self, timeout: float) -> list[Result]:
        """Send the jobs submitted since the last call, then return the verdicts that arrive
        within ``timeout`` seconds (all that are there once one is)."""
        results: list[Result] = []
        for sending in list(self._processes.values()):
            if sending.outbox:
                orders, sending.outbox = sending.outbox, []
                try:
                    sending.conn.send_all(orders, _without_fields)
                except OSError:
                    results += self._lost(sending)
        if not self._busy:
            return results
        for fd, _ in self._poll.poll(0 if results else timeout * 1000):
            process = self._processes.get(fd)
            if process is None:
                continue
            try:
                answers = process.conn.recv()
            except (EOFError, OSError):
                results += self._lost(process)
                continue
            for lane, result in answers:
                del process.jobs[lane]
                self._free.append((process, lane))
                results.append(result)
            self._busy -= len(answers)
        return results

    def close(self) -> None:
        for process in self._processes.values():
            with contextlib.suppress(OSError):
                process.conn.send(None)
        for process in self._processes.values():
            process.conn.close()
        for pid in self._pids:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
        self._processes, self._free, self._busy, self._pids = {}, [], 0, set()
        gc.unfreeze()

    def _lost(self, process: _Process) -> list[Result]:
        """``process`` ended: the deferred verdicts of its lanes' jobs (sent or not, nobody knows);
        a new process takes its lanes."""
        del self._processes[process.fd]
        self._poll.unregister(process.fd)
        process.conn.close()
        with contextlib.suppress(ChildProcessError):
            if os.waitpid(process.pid, os.WNOHANG)[0]:
                self._pids.discard(process.pid)
        self._free = [(p, lane) for p, lane in self._free if p is not process]
        self._busy -= len(process.jobs)
        self._start(process.lanes)
        reply = f"the sending process {process.pid} ended"
        return [(job[0], "deferred", 0, reply) for job in process.jobs.values()]

    def _start(self, lanes: int) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:  # the worker
            code = 1
            try:
                ours.close()
                _detach(theirs.fileno(), parent)
                _serve_lanes(Channel(theirs), lanes, self)
                code = 0
            finally:
                os._exit(code)
        theirs.close()
        process = _Process(pid, Channel(ours), lanes)
        self._pids.add(pid)
        self._processes[process.fd] = process
        self._poll.register(process.fd, select.POLLIN)
        self._free += [(process, lane) for lane in range(lanes)]


def _without_fields(order: tuple[int, Job]) -> tuple[int, Job]:
    """A job too big for a packet (a subscriber with huge extra fields) goes without its fields."""
    lane, (row_id, email, name, _fields) = order
    return lane, (row_id, email, name, "{}")


class _Process:
    """A worker process as the parent sees it: its channel, its lanes, their jobs."""

    __slots__ = ("conn", "fd", "jobs", "lanes", "outbox", "pid")

    def __init__(self, pid: int, conn: Channel, lanes: int) -> None:
        self.pid, self.conn, self.fd, self.lanes = pid, conn, conn.fileno(), lanes
        self.jobs: dict[int, Job] = {}  # by lane: handed out, no verdict yet
        self.outbox: list[tuple[int, Job]] = []  # handed out, not sent yet


def _detach(keep: int, parent: int) -> None:
    """Close every inherited descriptor but stdio and ``keep``; die with the parent; ignore Ctrl-C
    and SIGTERM sent to the whole group (the parent decides when to stop)."""
    limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    os.closerange(3, keep)
    os.closerange(keep + 1, limit if limit != resource.RLIM_INFINITY else 65536)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def _serve_lanes(conn: Channel, count: int, lanes: ForkedLanes) -> None:
    """The process's lanes: one event loop when every transport can run its transactions without
    blocking (plain SMTP), else a thread each; return when the parent says so or is gone."""
    transports = [lanes.make_transport() for _ in range(count)]
    if all(getattr(t, "evented", False) for t in transports):
        _EventLoop(transports, lanes.composer, lanes.sender).serve(conn)
    else:
        _Threads(conn, transports, lanes).run()


class _Threads:
    """A worker's lanes with a thread each (TLS, and transports that block): this thread reads
    the parent's orders and hands each job to its lane's queue; each lane sends its own verdicts."""

    def __init__(self, conn: Channel, transports: list[Transport], lanes: ForkedLanes) -> None:
        self.conn, self.transports, self.lanes = conn, transports, lanes
        self.queues: list[queue.SimpleQueue[Job | None]] = [queue.SimpleQueue() for _ in transports]
        self.sending = threading.Lock()

    def run(self) -> None:
        threads = [threading.Thread(target=self.lane, args=(i,)) for i in range(len(self.transports))]
        for thread in threads:
            thread.start()
        try:
            while True:
                try:
                    orders = self.conn.recv()
                except (EOFError, OSError):
                    return
                if orders is None:
                    return
                for lane, job in orders:
                    self.queues[lane].put(job)
        finally:
            for waiting in self.queues:
                waiting.put(None)
            for thread in threads:
                thread.join()

    def lane(self, index: int) -> None:
        try:
            while (job := self.queues[index].get()) is not None:
                transport = self.transports[index]
                try:
                    result = transport.send(
                        *envelope_and_message(self.lanes.composer, self.lanes.sender, job)
                    )
                except BaseException as exc:
                    result = internal_error(exc)
                    with contextlib.suppress(BaseException):
                        transport.close()
                    self.transports[index] = self.lanes.make_transport()  # a new connection
                with self.sending:
                    self.conn.send([(index, verdict(job, result))])
        except OSError:  # the parent is gone
            return
        finally:
            self.transports[index].close()


class _Lane:
    """One lane in an event loop: its number, its transport, the job in flight."""

    __slots__ = ("deadline", "index", "job", "sock", "transport", "writing")

    def __init__(self, index: int, transport: Any) -> None:
        self.index, self.transport = index, transport
        self.job: Job | None = None
        self.sock: socket.socket | None = None  # the connection's socket, as registered
        self.writing = False  # registered for writability too
        self.deadline = 0.0


class _EventLoop:
    """Lanes served by one thread: the jobs and the servers' replies as they come, several per
    wakeup (epoll); in the sending process (``LoopLanes``), or in a worker, which gets its jobs
    from the parent's channel (``serve``).

    A thread per lane cost about three context switches a message (the job, the replies to
    MAIL/RCPT/DATA, the reply to the data), measured as 42% of the workers' time in the kernel.
    The transaction is the transport's state machine (``begin``/``resume``); a lane waiting for
    its server longer than the transport's timeout gets the timeout verdict and loses its
    connection. Connecting (and reconnecting after a drop) blocks the loop, within the transport's
    timeout: plain SMTP is in practice a relay on the same machine or network."""

    def __init__(self, transports: list[Any], composer: Composer, sender: str) -> None:
        self.composer, self.sender = composer, sender
        self.epoll = select.epoll()
        self.lanes = [_Lane(i, transport) for i, transport in enumerate(transports)]
        self.check_at = _NEVER  # no later than the earliest deadline of a lane waiting for its server
        self.connections: dict[int, _Lane] = {}  # by the connection's descriptor
        self.verdicts: list[tuple[int, Result]] = []  # decided, not taken yet
        self.channel: Channel | None = None  # a worker's: the parent's orders

    def serve(self, conn: Channel) -> None:
        """A worker's loop: the parent's orders in, each round's verdicts out in one packet, until
        the parent says stop or is gone."""
        self.channel = conn
        self.epoll.register(conn.fileno(), select.EPOLLIN)
        try:
            while self.channel is not None:
                verdicts = self.round(-1)
                if verdicts:
                    try:
                        conn.send_all(verdicts)
                    except OSError:  # the parent is gone
                        return
        finally:
            self.close()

    def round(self, timeout: float) -> list[tuple[int, Result]]:
        """Wait up to ``timeout`` seconds (-1: until something happens) for the channel and the
        servers, act on what came, and take the verdicts decided (lane, verdict)."""
        if self.check_at != _NEVER:
            until = max(0.0, self.check_at - time.monotonic())
            timeout = until if timeout < 0 else min(timeout, until)
        for fd, _events in self.epoll.poll(timeout):
            lane = self.connections.get(fd)
            if lane is None:
                if self.channel is not None and fd == self.channel.fileno():
                    self.orders(self.channel)
                continue  # else its connection was dropped earlier in this round
            if lane.job is not None:
                self.resume(lane)
            else:  # the server hung up (or spoke) between messages: reconnect for the next
                self.forget(lane)  # else its readiness would wake the loop again and again
                lane.transport.cancel()
        if time.monotonic() >= self.check_at:
            self.expire()
        verdicts, self.verdicts = self.verdicts, []
        return verdicts

    def expire(self) -> None:
        """The timeout verdict for each lane whose server has been silent past its deadline; the
        next look is at the earliest deadline left. Deadlines only move later (``watch``), so
        looking at the lanes once per deadline, not once per round, misses none."""
        now = time.monotonic()
        for lane in self.lanes:
            if lane.job is not None and lane.deadline <= now:
                self.finish(lane, lane.transport.timed_out())
        self.check_at = min((lane.deadline for lane in self.lanes if lane.job is not None), default=_NEVER)

    def close(self) -> None:
        for lane in self.lanes:
            self.forget(lane)
            with contextlib.suppress(Exception):
                if lane.job is not None:  # cut short: without the data's end the server drops it
                    lane.transport.cancel()
                else:
                    lane.transport.close()
        self.epoll.close()

    def orders(self, conn: Channel) -> None:
        try:
            orders = conn.recv()
        except (EOFError, OSError):
            orders = None
        if orders is None:  # the parent is done, or gone
            self.channel = None
            return
        for index, job in orders:
            self.job(self.lanes[index], job)

    def job(self, lane: _Lane, job: Job) -> None:
        lane.job = job
        try:
            outcome = lane.transport.begin(*envelope_and_message(self.composer, self.sender, job))
        except BaseException as exc:
            self.forget(lane)
            lane.transport.cancel()
            outcome = internal_error(exc)
        if isinstance(outcome, DeliveryResult):
            self.finish(lane, outcome)
            return
        if outcome is not lane.sock:  # a new connection
            self.forget(lane)
            lane.sock = outcome
            self.connections[outcome.fileno()] = lane
            self.epoll.register(outcome.fileno(), select.EPOLLIN)
        self.watch(lane)

    def resume(self, lane: _Lane) -> None:
        try:
            result = lane.transport.resume()
        except BaseException as exc:
            self.forget(lane)
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
        self.check_at = min(self.check_at, lane.deadline)
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
        self.verdicts.append((lane.index, verdict(job, result)))

    def forget(self, lane: _Lane) -> None:
        """Stop watching the lane's connection (closed descriptors left epoll by themselves)."""
        sock, lane.sock, lane.writing = lane.sock, None, False
        if sock is None:
            return
        fd = sock.fileno()
        if fd != -1:
            self.epoll.unregister(fd)
        self.connections = {k: v for k, v in self.connections.items() if v is not lane}
