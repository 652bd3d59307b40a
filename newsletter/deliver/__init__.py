"""The send loop: the ledger decides who gets the issue; every recipient's fate is recorded.

A row goes pending -> sent only after the server accepted the message (250 to DATA). 4xx answers
and dropped connections -> deferred, with exponential backoff; 5xx -> failed with the code and
reply (and a 5xx saying the mailbox does not exist bounces the address).

This process is its ledger's only writer. It claims due rows in batches (never the whole list),
hands them to lanes (one SMTP connection each, on this process's event loop or in worker
processes: see workers.py), and commits the verdicts that arrived together in one transaction
before those lanes get their next message. So a
kill at any instant loses nobody, and at most one message per connection was sent without its
verdict recorded: after a kill those, and only those, may arrive twice, with the same Message-ID.

Several senders (PostgreSQL) share an issue through the ledger alone: each claims its own rows under
a lease it renews while alive (store/ledger.py), takes 1/N of each rate limit while N senders are
alive, counts errors in a row in the issue's row, and pauses with the others when one pauses. A
sender that runs out of rows waits while others hold some, so it takes over a dead one's rows.

An unsubscribe recorded during the send takes effect for the rows not yet handed out: each batch
is claimed with the subscribers' status, and the rows waiting in memory are checked again whenever
the list changed since the last round of hand-outs (SQLite's data_version, read once a round: the
lanes whose verdicts were committed together get their next rows together; on PostgreSQL a
trigger's notification, heard with the commit of each group of verdicts).
"""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parseaddr

from sqlalchemy import Engine

from newsletter import store
from newsletter.compose import Composer
from newsletter.config import Settings
from newsletter.deliver.rate import HOUR, RateLimit
from newsletter.deliver.workers import ForkedLanes, InlineLanes, LoopLanes, Result, smtp_lanes
from newsletter.errors import DeliveryError
from newsletter.models import DeliveryResult, DeliveryState, RenderedIssue, RunOutcome, SubscriberStatus
from newsletter.store.ledger import DueRow, Ledger, Verdict
from newsletter.transports import Transport, transport_for

MAX_BACKOFF = 6 * 3600.0
BATCH = 200  # ledger rows claimed at a time
OTHERS_POLL = 1.0  # seconds between looks at the rows other senders hold
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
    ``[delivery] connections`` lanes (see ``smtp_lanes``).
    """
    composer = composer or Composer(settings, rendered)
    sender = parseaddr(settings.sender.from_)[1]
    lanes: InlineLanes | ForkedLanes | LoopLanes
    if transport is not None:
        lanes = InlineLanes(composer, transport, sender)
    elif settings.delivery.transport == "smtp":
        lanes = smtp_lanes(composer, lambda: transport_for(settings), sender, settings.delivery.connections)
    else:
        lanes = InlineLanes(composer, transport_for(settings), sender)
    try:
        with Ledger(engine, issue_id, lease_seconds=settings.delivery.lease_seconds) as ledger:
            run = _Run(settings, ledger, lanes, observer, stop)
            run.loop(time.time() + max_wait)
    finally:
        lanes.close()
    return _finish(engine, issue_id, run.summary)


class _Run:
    """One send: the parent's loop over claimed batches, lanes and group commits."""

    def __init__(
        self,
        settings: Settings,
        ledger: Ledger,
        lanes: InlineLanes | ForkedLanes | LoopLanes,
        observer: Observer | None,
        stop: threading.Event | None,
    ) -> None:
        self.settings, self.ledger, self.lanes = settings, ledger, lanes
        self.observer, self.stop = observer, stop
        self.summary = DeliverySummary()
        d = settings.delivery
        history = ledger.attempts_since(time.time() - HOUR) if d.rate_per_hour else []
        self.rate = RateLimit(d.rate_per_second, d.rate_per_hour, history)
        self.waiting: deque[DueRow] = deque()
        self.in_flight: dict[int, DueRow] = {}
        self.errors_in_a_row = 0  # as last counted in the issue's row, shared by its senders
        self.last_error: tuple[str, int, str] = ("", 0, "")
        self.beat_every = d.lease_seconds / 3
        self.next_beat = 0.0
        self.heartbeat()

    def stopped(self) -> bool:
        return bool(self.summary.paused) or (self.stop is not None and self.stop.is_set())

    def loop(self, deadline: float) -> None:
        """Passes over the due rows; between passes, wait for deferred rows due before ``deadline``
        and, whatever the deadline, for rows other senders hold (they may die and leave them)."""
        while True:
            self.one_pass()
            if self.stopped():
                return
            outlook = self.ledger.outlook()
            waits = [t for t in (outlook.others_until,) if t is not None]
            if outlook.next_attempt is not None and outlook.next_attempt <= deadline:
                waits.append(outlook.next_attempt)
            if not waits:
                return
            # Other senders usually finish long before their lease ends: look again every second.
            self.sleep(min(min(waits) - time.time(), OTHERS_POLL))
            if time.time() >= self.next_beat:
                self.heartbeat()

    def one_pass(self) -> None:
        after_id, exhausted = 0, False
        while True:
            if time.time() >= self.next_beat:
                self.heartbeat()
            if not self.waiting and not exhausted and not self.stopped():
                after_id, exhausted = self.claim(after_id)
            delay = self.dispatch()
            if not self.lanes.busy:
                if self.stopped() or (exhausted and not self.waiting):
                    return
                if delay:
                    self.sleep(delay)
                continue
            self.commit(self.lanes.collect(delay or 1.0))

    def claim(self, after_id: int) -> tuple[int, bool]:
        rows = self.ledger.claim(after_id, BATCH)
        if not rows:
            return after_id, True
        self.waiting.extend(r for r in rows if r.status == SubscriberStatus.ACTIVE)
        for row in rows:
            if row.status != SubscriberStatus.ACTIVE:
                self.skip([row], f"not sent: the address is {row.status}")
        return rows[-1].id, False

    def heartbeat(self) -> None:
        """Keep this sender's rows and learn what the other senders did: their number, a pause."""
        self.next_beat = time.time() + self.beat_every
        lost = self.ledger.renew([r.id for r in self.waiting] + list(self.in_flight))
        if lost:  # this sender stalled past its lease: the rows are another sender's now
            self.waiting = deque(r for r in self.waiting if r.id not in lost)
        beat = self.ledger.heartbeat()
        self.rate.share(beat.senders)
        if beat.pause_reason and not self.summary.paused:
            self.summary.paused = beat.pause_reason

    def dispatch(self) -> float:
        """Hand waiting rows to idle lanes; return how long the rate limit asks to wait (0.0: no wait)."""
        if not (self.waiting and self.lanes.idle()):
            return 0.0
        # Once per hand-out round, not per message: the lanes idle now got their verdicts committed
        # together, and what other connections wrote before this round is seen before any of them
        # gets a row.
        if self.ledger.others_wrote():
            self.recheck()
        while self.waiting and self.lanes.idle() and not self.stopped():
            now = time.time()
            delay = self.rate.delay(now)
            if delay > 0:
                return delay
            row = self.waiting.popleft()
            self.lanes.submit((row.id, row.email, row.name, row.fields))
            self.in_flight[row.id] = row
            self.rate.take(now)
        return 0.0

    def commit(self, results: list[Result]) -> None:
        """Record a group of verdicts in one transaction: each lane's next message waits for this."""
        if not results:
            return
        now = time.time()
        verdicts: list[Verdict] = []
        emails: list[str] = []
        bounced: list[tuple[int, str]] = []
        for row_id, state, code, reply in results:
            row = self.in_flight.pop(row_id)
            verdicts.append(
                self.verdict(row, DeliveryResult(DeliveryState(state), code, reply), now, bounced)
            )
            emails.append(row.email)
        self.ledger.record(verdicts, bounced)
        self.count_errors(verdicts)
        for email, v in zip(emails, verdicts, strict=True):
            self.tell(email, DeliveryResult(DeliveryState(v.state), v.code, v.reply))

    def verdict(
        self, row: DueRow, result: DeliveryResult, now: float, bounced: list[tuple[int, str]]
    ) -> Verdict:
        d = self.settings.delivery
        attempts = row.attempts + 1
        state, reply, next_attempt = result.state, result.reply, 0.0
        if state == DeliveryState.DEFERRED and attempts >= d.max_attempts:
            state, reply = DeliveryState.FAILED, f"gave up after {attempts} attempts: {reply}"
        elif state == DeliveryState.DEFERRED:
            next_attempt = now + backoff(self.settings, attempts)
        elif state == DeliveryState.FAILED and _NO_MAILBOX.search(f"{result.code} {reply}"):
            bounced.append((row.subscriber_id, f"{result.code} {reply}"))
        setattr(self.summary, state, getattr(self.summary, state) + 1)
        if state != DeliveryState.SENT:
            self.last_error = (row.email, result.code, reply)
        return Verdict(row.id, str(state), result.code, reply[:1000], attempts, next_attempt, now)

    def count_errors(self, verdicts: list[Verdict]) -> None:
        """Errors in a row, over every sender of the issue: the streak pauses the send for all."""
        trailing = 0
        for v in reversed(verdicts):
            if v.state == DeliveryState.SENT:
                break
            trailing += 1
        reset = trailing < len(verdicts)  # something was sent: the streak starts again
        if not trailing and not (reset and self.errors_in_a_row):
            return  # nothing to change: no failure, and the shared count is already 0
        self.errors_in_a_row = self.ledger.count_errors(trailing, reset=reset)
        limit = self.settings.delivery.max_errors_in_a_row
        if self.errors_in_a_row >= limit and not self.summary.paused:
            email, code, reply = self.last_error
            self.summary.paused = (
                f"paused after {self.errors_in_a_row} errors in a row; the last: {email}: {code or ''} {reply}"
            ).replace("  ", " ")
            self.ledger.pause(self.summary.paused)

    def recheck(self) -> None:
        """Drop waiting rows whose subscriber left the list since the batch was read."""
        if not self.waiting:
            return
        gone = self.ledger.inactive_among({r.subscriber_id for r in self.waiting})
        if gone:
            dropped = [r for r in self.waiting if r.subscriber_id in gone]
            self.waiting = deque(r for r in self.waiting if r.subscriber_id not in gone)
            self.skip(dropped, "not sent: the address left the list during the send")

    def skip(self, rows: list[DueRow], reply: str) -> None:
        if not rows:
            return
        now = time.time()
        state = DeliveryState.SKIPPED
        self.ledger.record([Verdict(r.id, str(state), 0, reply, r.attempts, 0.0, now) for r in rows], [])
        self.summary.skipped += len(rows)
        for r in rows:
            self.tell(r.email, DeliveryResult(state, 0, reply))

    def tell(self, email: str, result: DeliveryResult) -> None:
        if self.observer is not None:
            self.observer(email, result.state, result)

    def sleep(self, seconds: float) -> None:
        seconds = max(0.0, seconds)
        if self.stop is not None:
            self.stop.wait(seconds)
        else:
            time.sleep(seconds)


def _finish(engine: Engine, issue_id: int, summary: DeliverySummary) -> DeliverySummary:
    summary.counts = store.ledger.counts(engine, issue_id)
    summary.next_attempt = store.ledger.next_attempt_at(engine, issue_id)
    if summary.finished and not summary.paused:
        store.issues.mark_sent(engine, issue_id)
    return summary


def check_transport(settings: Settings) -> None:
    """Open and close the configured transport: raises DeliveryError when it refuses us."""
    transport = transport_for(settings)
    transport.open()
    transport.close()


def outcome_state(summary: DeliverySummary) -> RunOutcome:
    if summary.paused:
        return RunOutcome.PAUSED
    return RunOutcome.SENT if summary.finished else RunOutcome.PARTIAL


def outcome_message(key: str, summary: DeliverySummary, route: str) -> str:
    """The closing line of a send of issue ``key`` that went ``route`` ("over SMTP to ...")."""
    c = summary.counts
    text = (
        f"issue {key}: {c.get('sent', 0)} sent, {c.get('deferred', 0) + c.get('pending', 0)} waiting, "
        f"{c.get('failed', 0)} failed ({route})"
    )
    if summary.paused:
        text += f"; {summary.paused}"
    elif not summary.finished and summary.next_attempt:
        text += (
            f"; next attempt at {datetime.fromtimestamp(summary.next_attempt):%Y-%m-%d %H:%M:%S}"
            " (run `newsletter send` again, or leave it to the scheduler)"
        )
    return text


__all__ = [
    "DeliveryError",
    "DeliverySummary",
    "Observer",
    "backoff",
    "check_transport",
    "deliver",
    "outcome_message",
    "outcome_state",
]
