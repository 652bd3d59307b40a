"""The send loop: the ledger decides who gets the issue; every recipient's fate is recorded.

A row goes pending -> sent only after the server accepted the message (250 to DATA). 4xx answers
and dropped connections -> deferred, with exponential backoff; 5xx -> failed with the code and
reply. Each row is committed before the next message is handed out, so a kill at any instant
loses nobody and at most the message in flight is sent twice (with the same Message-ID).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parseaddr

from sqlalchemy import Engine

from newsletter import store
from newsletter.compose import Composer
from newsletter.config import Settings
from newsletter.errors import DeliveryError
from newsletter.models import DeliveryResult, RenderedIssue, Subscriber
from newsletter.transports import Transport, transport_for

MAX_BACKOFF = 6 * 3600.0
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
    observer: Observer | None = None,
    stop: threading.Event | None = None,
    max_wait: float = 0.0,
) -> DeliverySummary:
    """Send the issue to every due ledger row; wait up to ``max_wait`` seconds for deferred rows."""
    composer = Composer(settings, rendered)
    sender = parseaddr(settings.sender.from_)[1]
    transport = transport or transport_for(settings)
    transport.open()  # a server that refuses us raises DeliveryError before anything is recorded
    summary = DeliverySummary()
    errors_in_a_row = 0
    deadline = time.time() + max_wait
    try:
        while not (stop and stop.is_set()):
            rows = store.due_rows(engine, issue_id, time.time())
            if not rows:
                upcoming = store.next_attempt_at(engine, issue_id)
                if upcoming is None or upcoming > deadline:
                    break
                _sleep_until(upcoming, stop)
                continue
            for row in rows:
                if stop and stop.is_set():
                    break
                if not store.is_active(engine, row.subscriber_id):
                    store.record_delivery(engine, row.id, "skipped", reply="unsubscribed during the send")
                    summary.skipped += 1
                    continue
                subscriber = Subscriber(email=row.email, name=row.name, fields=row.fields)
                result = transport.send(sender, row.email, composer.compose(subscriber))
                _record(settings, engine, row, result, summary)
                if observer:
                    observer(row.email, result.state, result)
                errors_in_a_row = 0 if result.state == "sent" else errors_in_a_row + 1
                if errors_in_a_row >= settings.delivery.max_errors_in_a_row:
                    summary.paused = (
                        f"paused after {errors_in_a_row} errors in a row; the last: {row.email}: "
                        f"{result.code or ''} {result.reply}".strip()
                    )
                    return _finish(engine, issue_id, summary)
    finally:
        transport.close()
    return _finish(engine, issue_id, summary)


def _record(
    settings: Settings, engine: Engine, row: store.LedgerRow, result: DeliveryResult, summary: DeliverySummary
) -> None:
    attempts = row.attempts + 1
    if result.state == "sent":
        store.record_delivery(engine, row.id, "sent", code=result.code, reply=result.reply, attempts=attempts)
        summary.sent += 1
    elif result.state == "deferred" and attempts < settings.delivery.max_attempts:
        store.record_delivery(
            engine,
            row.id,
            "deferred",
            code=result.code,
            reply=result.reply,
            attempts=attempts,
            next_attempt=time.time() + backoff(settings, attempts),
        )
        summary.deferred += 1
    else:
        reply = (
            result.reply if result.state == "failed" else f"gave up after {attempts} attempts: {result.reply}"
        )
        store.record_delivery(engine, row.id, "failed", code=result.code, reply=reply, attempts=attempts)
        summary.failed += 1
        if result.state == "failed" and _NO_MAILBOX.search(f"{result.code} {result.reply}"):
            store.set_status_by_id(
                engine, row.subscriber_id, "bounced", f"{result.code} {result.reply}"[:500]
            )


def _finish(engine: Engine, issue_id: int, summary: DeliverySummary) -> DeliverySummary:
    summary.counts = store.ledger_counts(engine, issue_id)
    summary.next_attempt = store.next_attempt_at(engine, issue_id)
    if summary.finished and not summary.paused:
        store.mark_issue_sent(engine, issue_id)
    return summary


def _sleep_until(when: float, stop: threading.Event | None) -> None:
    delay = max(0.0, when - time.time())
    if stop is not None:
        stop.wait(delay)
    else:
        time.sleep(delay)


def check_transport(settings: Settings) -> None:
    """Open and close the configured transport: raises DeliveryError when it refuses us."""
    transport = transport_for(settings)
    transport.open()
    transport.close()


__all__ = ["DeliveryError", "DeliverySummary", "backoff", "check_transport", "deliver"]
