"""What comes back after the send: bounces, complaints and auto-replies from the bounce mailbox or
a webhook, mapped to the message they are about and recorded (store/feedback.py decides what each
does to the list).

    classify   what one message is (ARF, RFC 3464, flufl.bounce's formats, auto-replies)
    mailboxes  reading the IMAP folder or Maildir, moving what was about our mail

A notification is ours when it names one of our messages: a VERP token that decrypts (a forged or
unknown one names nothing), or a quoted Message-ID that is ours for the address that failed, or our
List-Id with an address on the list. Anything else is left where it is.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import Engine

from newsletter import store
from newsletter.compose import list_id, message_id, sender_domain
from newsletter.config import Settings
from newsletter.feedback.classify import Failure, Notice, classify
from newsletter.feedback.mailboxes import FeedbackError, open_mailbox
from newsletter.models import FeedbackKind
from newsletter.store.feedback import Target
from newsletter.subscribers import read_verp_token, verp_pattern

log = logging.getLogger(__name__)

__all__ = ["FeedbackError", "Report", "process", "read_mailbox", "report_one"]


@dataclass
class Report:
    """What one reading of the mailbox (or one webhook call) found and did."""

    classes: Counter[str] = field(default_factory=Counter)  # permanent, transient, ..., unrelated
    not_ours: int = 0  # notifications about no message of ours: left in place
    seen_before: int = 0
    suppressed: list[tuple[str, str]] = field(default_factory=list)  # (address, new status)
    moved: int = 0


class Feedback:
    """Maps notifications to our messages and records them, for one newsletter."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.settings, self.engine = settings, engine
        self.list_id = list_id(settings)
        self.domain = sender_domain(settings)
        d = settings.delivery
        self.verp = verp_pattern(d.return_path) if d.return_path and d.verp else None

    def process(self, raw: bytes, report: Report, via: str = "mailbox") -> bool:
        """Record what one message says; True when it was about our mail (to move it away)."""
        try:
            notice = classify(raw, self.verp)
        except Exception as exc:  # noqa: BLE001 (a message no parser expected: leave it, read the rest)
            log.warning("cannot read a message in the bounce mailbox (%r); left where it is", exc)
            report.classes["unreadable"] += 1
            return False
        report.classes[str(notice.kind or "unrelated")] += 1
        if notice.kind is None:
            return False
        found = self.targets(notice)
        if not found:
            report.not_ours += 1
            return False
        for target, failure in found:
            ref = hashlib.sha256(f"{notice.ref}\0{target.subscriber_id}".encode()).hexdigest()
            self.take(target, failure, via, ref, report)
        return True

    def take(self, target: Target, failure: Failure, via: str, ref: str | None, report: Report) -> None:
        taken = store.feedback.take(
            self.engine,
            target,
            failure.kind,
            status=failure.status,
            diagnostic=failure.diagnostic,
            via=via,
            ref=ref,
            transient_limit=self.settings.bounces.transient_limit,
        )
        if not taken.recorded:
            report.seen_before += 1
        elif taken.suppressed:
            store.journal.Journal(self.settings.journal_path).add([target.email])
            report.suppressed.append((target.email, taken.suppressed))
            log.info("%s: %s (%s)", target.email, taken.suppressed, failure.diagnostic or failure.kind)

    def targets(self, notice: Notice) -> list[tuple[Target, Failure]]:
        failures = notice.failures or (Failure("", notice.kind or FeedbackKind.AUTOREPLY),)
        # 1. A VERP token: exactly one ledger row, whatever the notification quotes.
        for token in notice.tokens:
            row = read_verp_token(self.settings.secret, self.list_id, token)
            target = store.feedback.target_of_delivery(self.engine, row) if row is not None else None
            if target is not None:
                named = next((f for f in failures if f.address == target.email), failures[0])
                return [(target, named)]
        found = []
        for failure in failures:
            if not failure.address:
                continue
            # 2. Our Message-ID for this address: the period it names, checked against the digest.
            for quoted in notice.message_ids:
                period = quoted.strip("<>").split(".", 1)[0]
                if quoted == message_id(self.settings.secret, period, failure.address, self.domain):
                    target = store.feedback.target_of_address(self.engine, failure.address, period)
                    if target is not None and target.issue_id is not None:
                        found.append((target, failure))
                        break
            else:
                # 3. Our List-Id quoted, and an address on the list: the last issue sent to it.
                if self.list_id in notice.list_ids:
                    target = store.feedback.target_of_address(self.engine, failure.address, None)
                    if target is not None:
                        found.append((target, failure))
        return found


def read_mailbox(settings: Settings, engine: Engine) -> Report:
    """Read the bounce mailbox once: record every notification about our mail and move it to the
    processed folder; leave everything else where it is."""
    feedback = Feedback(settings, engine)
    report = Report()
    box = open_mailbox(settings)
    try:
        for key, raw in box.messages():
            if feedback.process(raw, report):
                box.move_to_processed(key)
                report.moved += 1
    finally:
        box.close()
    return report


def process(settings: Settings, engine: Engine, raw: bytes) -> Report:
    """One message, as the mailbox reader would take it (tests, and a script piping mail in)."""
    report = Report()
    Feedback(settings, engine).process(raw, report)
    return report


def report_one(
    settings: Settings,
    engine: Engine,
    *,
    kind: FeedbackKind,
    email: str = "",
    return_path: str = "",
    message_id_: str = "",
    status: str = "",
    diagnostic: str = "",
    ref: str | None = None,
) -> Report | None:
    """A bounce or complaint reported by a relay or a script (serve's webhook), mapped like a mailbox
    notification; None when it names none of our messages."""
    feedback = Feedback(settings, engine)
    failure = Failure(email.lower(), kind, status, diagnostic)
    tokens = (
        tuple(t.lower() for t in feedback.verp.findall(return_path)) if feedback.verp and return_path else ()
    )
    notice = Notice(
        kind,
        ref=ref or "",
        failures=(failure,),
        message_ids=(message_id_,) if message_id_ else (),
        list_ids=(feedback.list_id,) if email and not message_id_ and not tokens else (),
        tokens=tokens,
    )
    found = feedback.targets(notice)
    if not found:
        return None
    report = Report()
    report.classes[str(kind)] += 1
    for target, named in found:
        key = hashlib.sha256(f"webhook\0{ref}\0{target.subscriber_id}".encode()).hexdigest() if ref else None
        feedback.take(target, named, "webhook", key, report)
    return report
