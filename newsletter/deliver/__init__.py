"""The send loop: the ledger decides who gets the issue; every recipient's fate is recorded.

A row goes pending -> sent only after the server accepted the message (250 to DATA). 4xx answers
and dropped connections -> deferred, with exponential backoff; 5xx -> failed with the code and
reply (and a 5xx saying the mailbox does not exist bounces the address).

This process is the ledger's only writer. It streams due rows in batches (never the whole list),
hands them to lanes (worker processes, one SMTP connection each: see workers.py), and commits the
verdicts that arrived together in one transaction before those lanes get their next message. So a
kill at any instant loses nobody, and at most one message per connection was sent without its
verdict recorded: after a kill those, and only those, may arrive twice, with the same Message-ID.

An unsubscribe recorded during the send takes effect for the rows not yet handed out: each batch
is read with the subscribers' status, and the rows waiting in memory are checked again whenever
another connection has written to the database since the last message was handed out (SQLite's
data_version), or every ``RECHECK_EVERY`` verdicts on other databases.
"""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parseaddr
from typing import Any

from sqlalchemy import Connection, Engine

from newsletter import store
from newsletter.compose import Composer
from newsletter.config import Settings
from newsletter.deliver.rate import HOUR, RateLimit
from newsletter.deliver.workers import ForkedLanes, InlineLanes, Job, Result
from newsletter.errors import DeliveryError
from newsletter.models import DeliveryResult, RenderedIssue
from newsletter.transports import Transport, transport_for

MAX_BACKOFF = 6 * 3600.0
BATCH = 200  # ledger rows read at a time
RECHECK_EVERY = 50  # verdicts between two checks of the waiting rows for unsubscribes
# 5xx replies that mean the mailbox does not exist: the address goes on the suppression list.
_NO_MAILBOX = re.compile(
    r"\b5\.1\.[01]\b|no such (user|mailbox)|user unknown|does not exist|mailbox unavailable", re.IGNORECASE
)


@dataclass(slots=True)
class DeliverySummary:
    sent: int = 0
    deferred: int = 0
    failed: int = 0
    skipped: int = 0
    paused: str = ""
    next_attempt: float | None = None
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        return not self.counts.get("pending") and not self.counts.get("deferred")


Observer = Callable[[str, str, DeliveryResult], None]


def backoff(settings: Settings, attempts: int) -> float:
    return min(MAX_BACKOFF, settings.delivery.retry_base_seconds * 2 ** max(0, attempts - 1))


def deliver(
    settings: Settings,
    engine: Engine,
    issue_id: int,
    rendered: RenderedIssue,
    *,
    transport: Transport | None = None,
    composer: Composer | None = None,
    observer: Observer | None = None,
    stop: threading.Event | None = None,
    max_wait: float = 0.0,
) -> DeliverySummary:
    """Send the issue to every due ledger row; wait up to ``max_wait`` seconds for deferred rows.

    With ``transport`` (or the Maildir transport) one lane runs in this process; SMTP gets
    ``[delivery] connections`` worker processes.
    """
    composer = composer or Composer(settings, rendered)
    sender = parseaddr(settings.sender.from_)[1]
    lanes: InlineLanes | ForkedLanes
    if transport is not None:
        lanes = InlineLanes(composer, transport, sender)
    elif settings.delivery.transport == "smtp":
        lanes = ForkedLanes(composer, lambda: transport_for(settings), sender, settings.delivery.connections)
    else:
        lanes = InlineLanes(composer, transport_for(settings), sender)
    try:
        with engine.connect() as conn:
            run = _Run(settings, conn, issue_id, lanes, observer, stop)
            run.loop(time.time() + max_wait)
    finally:
        lanes.close()
    return _finish(engine, issue_id, run.summary)


class _Run:
    """One send: the parent's loop over batches, lanes and group commits."""

    def __init__(
        self,
        settings: Settings,
        conn: Connection,
        issue_id: int,
        lanes: InlineLanes | ForkedLanes,
        observer: Observer | None,
        stop: threading.Event | None,
    ) -> None:
        self.settings, self.conn, self.issue_id, self.lanes = settings, conn, issue_id, lanes
        self.observer, self.stop = observer, stop
        self.summary = DeliverySummary()
        d = settings.delivery
        history = store.attempts_since(conn, time.time() - HOUR) if d.rate_per_hour else []
        conn.commit()
        self.rate = RateLimit(d.rate_per_second, d.rate_per_hour, history)
        self.waiting: deque[store.DueRow] = deque()
        self.in_flight: dict[int, store.DueRow] = {}
        self.errors_in_a_row = 0
        self.since_recheck = 0
        self.version = store.data_version(conn)

    def stopped(self) -> bool:
        return bool(self.summary.paused) or (self.stop is not None and self.stop.is_set())

    def loop(self, deadline: float) -> None:
        """Passes over the due rows; between passes, wait for deferred rows due before ``deadline``."""
        while True:
            self.one_pass()
            if self.stopped():
                return
            upcoming = _next_attempt(self.conn, self.issue_id)
            if upcoming is None or upcoming > deadline:
                return
            self.sleep(upcoming - time.time())

    def one_pass(self) -> None:
        after_id, exhausted = 0, False
        while True:
            if not self.waiting and not exhausted and not self.stopped():
                after_id, exhausted = self.read_batch(after_id)
            delay = self.dispatch()
            if not self.lanes.busy:
                if self.stopped() or (exhausted and not self.waiting):
                    return
                if delay:
                    self.sleep(delay)
                continue
            self.commit(self.lanes.collect(delay or 1.0))

    def read_batch(self, after_id: int) -> tuple[int, bool]:
        rows = store.due_batch(self.conn, self.issue_id, time.time(), after_id, BATCH)
        self.conn.commit()
        if not rows:
            return after_id, True
        self.waiting.extend(r for r in rows if r[6] == "active")
        for row in rows:
            if row[6] != "active":
                self.skip([row], f"not sent: the address is {row[6]}")
        return rows[-1][0], False

    def dispatch(self) -> float:
        """Hand waiting rows to idle lanes; return how long the rate limit asks to wait (0.0: no wait)."""
        while self.waiting and self.lanes.idle() and not self.stopped():
            now = time.time()
            delay = self.rate.delay(now)
            if delay > 0:
                return delay
            if self.others_wrote():
                self.recheck()
                if not self.waiting:
                    break
            row = self.waiting.popleft()
            self.lanes.submit(_job(row))
            self.in_flight[row[0]] = row
            self.rate.take(now)
        return 0.0

    def commit(self, results: list[Result]) -> None:
        """Record a group of verdicts in one transaction: each lane's next message waits for this."""
        if not results:
            return
        now = time.time()
        values: list[dict[str, Any]] = []
        bounced: list[tuple[int, str]] = []
        told: list[tuple[str, DeliveryResult]] = []
        for row_id, state, code, reply in results:
            row = self.in_flight.pop(row_id)
            result = DeliveryResult(state, code, reply)  # type: ignore[arg-type]
            values.append(self.verdict(row, result, now, bounced))
            told.append((row[2], DeliveryResult(values[-1]["state"], code, values[-1]["reply"])))
        store.record_results(self.conn, values, bounced)
        for email, result in told:
            self.tell(email, result)
        self.since_recheck += len(results)
        if self.since_recheck >= RECHECK_EVERY:
            self.since_recheck = 0
            self.recheck()

    def verdict(
        self, row: store.DueRow, result: DeliveryResult, now: float, bounced: list[tuple[int, str]]
    ) -> dict[str, Any]:
        d = self.settings.delivery
        attempts = row[5] + 1
        state, reply, next_attempt = result.state, result.reply, 0.0
        if state == "deferred" and attempts >= d.max_attempts:
            state, reply = "failed", f"gave up after {attempts} attempts: {reply}"
        elif state == "deferred":
            next_attempt = now + backoff(self.settings, attempts)
        elif state == "failed" and _NO_MAILBOX.search(f"{result.code} {reply}"):
            bounced.append((row[1], f"{result.code} {reply}"))
        setattr(self.summary, state, getattr(self.summary, state) + 1)
        if state == "sent":
            self.errors_in_a_row = 0
        else:
            self.errors_in_a_row += 1
            if self.errors_in_a_row >= d.max_errors_in_a_row and not self.summary.paused:
                self.summary.paused = (
                    f"paused after {self.errors_in_a_row} errors in a row; the last: {row[2]}: "
                    f"{result.code or ''} {reply}".replace("  ", " ")
                )
        return {
            "row_id": row[0],
            "state": state,
            "code": result.code,
            "reply": reply[:1000],
            "attempts": attempts,
            "next_attempt": next_attempt,
            "updated_at": now,
        }

    def others_wrote(self) -> bool:
        """Whether another connection committed since we last asked (always False off SQLite)."""
        version = store.data_version(self.conn)
        changed = version is not None and version != self.version
        self.version = version
        return changed

    def recheck(self) -> None:
        """Drop waiting rows whose subscriber left the list since the batch was read."""
        if not self.waiting:
            return
        gone = store.inactive_among(self.conn, {r[1] for r in self.waiting})
        self.conn.commit()
        if gone:
            dropped = [r for r in self.waiting if r[1] in gone]
            self.waiting = deque(r for r in self.waiting if r[1] not in gone)
            self.skip(dropped, "not sent: the address left the list during the send")

    def skip(self, rows: list[store.DueRow], reply: str) -> None:
        if not rows:
            return
        now = time.time()
        values = [
            {
                "row_id": r[0],
                "state": "skipped",
                "code": 0,
                "reply": reply,
                "attempts": r[5],
                "next_attempt": 0.0,
                "updated_at": now,
            }
            for r in rows
        ]
        store.record_results(self.conn, values, [])
        self.summary.skipped += len(rows)
        for r in rows:
            self.tell(r[2], DeliveryResult("skipped", 0, reply))

    def tell(self, email: str, result: DeliveryResult) -> None:
        if self.observer is not None:
            self.observer(email, result.state, result)

    def sleep(self, seconds: float) -> None:
        seconds = max(0.0, seconds)
        if self.stop is not None:
            self.stop.wait(seconds)
        else:
            time.sleep(seconds)


def _job(row: store.DueRow) -> Job:
    return row[0], row[2], row[3], row[4]


def _next_attempt(conn: Connection, issue_id: int) -> float | None:
    value = store.next_attempt_in(conn, issue_id)
    conn.commit()
    return value


def _finish(engine: Engine, issue_id: int, summary: DeliverySummary) -> DeliverySummary:
    summary.counts = store.ledger_counts(engine, issue_id)
    summary.next_attempt = store.next_attempt_at(engine, issue_id)
    if summary.finished and not summary.paused:
        store.mark_issue_sent(engine, issue_id)
    return summary


def check_transport(settings: Settings) -> None:
    """Open and close the configured transport: raises DeliveryError when it refuses us."""
    transport = transport_for(settings)
    transport.open()
    transport.close()


__all__ = ["DeliveryError", "DeliverySummary", "Observer", "backoff", "check_transport", "deliver"]
