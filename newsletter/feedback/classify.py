"""What one message in the bounce mailbox is: a bounce (permanent or transient), a complaint, an
auto-reply, or something else, and which of our messages it is about.

    RFC 5965 ARF          multipart/report; report-type=feedback-report: a complaint
    RFC 3464 DSN          multipart/report with a message/delivery-status part, read field by field
                          by the email package: 5.x.x permanent, 4.x.x (or Action: delayed) transient
    other bounce formats  flufl.bounce (Mailman's detectors: Exim, qmail, Exchange, Yahoo, ...),
                          which finds the failed addresses, temporary or permanent
    auto-replies          Auto-Submitted, X-Autoreply, X-Autorespond, Precedence: auto_reply, and
                          the subjects out-of-office replies use: never a bounce

Which message it is about comes from what it quotes or where it was sent: a VERP address
(``bounces+<token>@``) anywhere in it, the original's Message-ID and List-Id, the failed address.
Nothing here touches the database (see ``feedback.process``).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from email import message_from_bytes, message_from_string, policy
from email.message import Message
from email.utils import parseaddr

from newsletter.models import FeedbackKind

_SMTP_REPLY = re.compile(r"\b([45]\d\d)[ -]((?:[45]\.\d{1,3}\.\d{1,3} )?[^\r\n]{3,300})")
_ENHANCED = re.compile(r"\b([245]\.\d{1,3}\.\d{1,3})\b")
_MESSAGE_ID = re.compile(r"^message-id:\s*(<[^<>\s]+>)", re.IGNORECASE | re.MULTILINE)
_LIST_ID = re.compile(r"^list-id:[^\r\n<]*<([^<>\s]+)>", re.IGNORECASE | re.MULTILINE)
_AUTO_SUBJECT = re.compile(
    r"^\s*(out of (the )?office|automatic reply|auto(matic)?[ -]?(reply|response)|auto:|vacation|"
    r"absence|abwesenheit|abwesend|r[ée]ponse automatique|absent|i am (currently )?(away|out))",
    re.IGNORECASE,
)
_FAILURE_SUBJECT = re.compile(
    r"undeliver|deliver(y|ed)? (status notification \(failure|failure|failed|problem)|returned mail|"
    r"mail (delivery )?(error|failed|failure)|could not be delivered|failure notice|non[- ]?delivery|"
    r"failed mail|delivery has failed",
    re.IGNORECASE,
)
_QUOTED_HEADER = re.compile(
    r"^(message-id|received|from|to|subject|return-path):", re.IGNORECASE | re.MULTILINE
)
_DAEMON = re.compile(r"mailer-daemon|postmaster|mail delivery", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Failure:
    """One recipient a notification is about."""

    address: str  # lower-cased; "" when the notification does not say (a redacted complaint)
    kind: FeedbackKind
    status: str = ""  # the enhanced status code, e.g. 5.1.1
    diagnostic: str = ""


@dataclass(frozen=True, slots=True)
class Notice:
    """What one message is. ``kind`` None: not a notification about mail (a person, a newsletter)."""

    kind: FeedbackKind | None
    ref: str  # the notification's identity (its Message-ID, else a hash of its bytes)
    failures: tuple[Failure, ...] = ()
    message_ids: tuple[str, ...] = ()  # the Message-IDs the message quotes
    list_ids: tuple[str, ...] = ()
    tokens: tuple[str, ...] = ()  # VERP tokens found anywhere in it
    why: str = ""  # for the operator: how it was recognised


def classify(raw: bytes, verp: re.Pattern[str] | None = None) -> Notice:
    msg = message_from_bytes(raw, policy=policy.compat32)
    own_id = (msg.get("Message-ID") or "").strip()
    ref = own_id or "sha256:" + hashlib.sha256(raw).hexdigest()
    texts = _texts(msg)
    quoted = "\n".join(texts[1:])  # the parts under the top-level headers
    whole = "\n".join(texts)
    replied_to = re.findall(r"<[^<>\s]+>", f"{msg.get('In-Reply-To', '')} {msg.get('References', '')}")
    message_ids = tuple(dict.fromkeys(m for m in [*_MESSAGE_ID.findall(quoted), *replied_to] if m != own_id))
    list_ids = tuple(dict.fromkeys(i.lower() for i in _LIST_ID.findall(quoted)))
    tokens = tuple(dict.fromkeys(t.lower() for t in verp.findall(whole))) if verp else ()

    def found(kind: FeedbackKind | None, why: str, failures: tuple[Failure, ...] = ()) -> Notice:
        return Notice(kind, ref, failures, message_ids, list_ids, tokens, why)

    report = str(msg.get_param("report-type", header="content-type") or "").lower()
    if msg.get_content_type() == "multipart/report" and report == "feedback-report":
        return found(FeedbackKind.COMPLAINT, "ARF feedback report", _complaint(msg))
    jmrp = _jmrp(msg)
    if jmrp:
        return found(FeedbackKind.COMPLAINT, "Microsoft JMRP report", jmrp)
    status_parts = [p for p in msg.walk() if p.get_content_type() == "message/delivery-status"]
    failures = tuple(f for part in status_parts for f in _delivery_status(part))
    if failures:
        return found(_worst(failures), "RFC 3464 delivery status notification", failures)
    if _is_autoreply(msg):
        # The reply comes from the subscriber themselves: its sender is the address it is about.
        sender = parseaddr(str(msg.get("From", "")))[1].lower()
        return found(
            FeedbackKind.AUTOREPLY,
            "auto-reply headers or subject",
            (Failure(sender, FeedbackKind.AUTOREPLY),),
        )
    failures = _other_formats(msg, whole)
    if failures:
        return found(_worst(failures), "bounce format known to flufl.bounce", failures)
    if _FAILURE_SUBJECT.search(msg.get("Subject") or "") and _QUOTED_HEADER.search(quoted):
        # A failure notice in no format known here, quoting the original: which message it is about
        # comes only from the VERP token (it names no address a detector could find).
        diagnostic, status = _diagnostic(whole)
        kind = FeedbackKind.TRANSIENT if diagnostic.startswith("4") else FeedbackKind.PERMANENT
        why = "a failure notice quoting the original"
        return found(kind, why, (Failure("", kind, status, diagnostic or str(msg.get("Subject"))),))
    if status_parts:
        return found(None, "a delivery status notification of success")
    return found(None, "not a notification")


def _texts(msg: Message) -> list[str]:
    """The top-level headers, then every part's headers and decoded text, in order."""
    found = ["".join(f"{k}: {v}\n" for k, v in msg.items())]
    for part in msg.walk():
        if part is not msg:
            found.append("".join(f"{k}: {v}\n" for k, v in part.items()))
        if part.is_multipart():
            continue
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            try:
                found.append(payload.decode(part.get_content_charset() or "utf-8", "replace"))
            except LookupError:  # a charset Python does not know
                found.append(payload.decode("latin-1"))
        elif isinstance(payload, str):
            found.append(payload)
    return found


def _address(value: str | None) -> str:
    """The address of a DSN/ARF field (``rfc822; ada@example.org``)."""
    if not value:
        return ""
    value = value.split(";", 1)[-1].strip().strip("<>").strip()
    return value.lower() if "@" in value else ""


def _delivery_status(part: Message) -> list[Failure]:
    """The per-recipient blocks of a message/delivery-status part (the email package parses each
    block as a header set; the first is the per-message one)."""
    blocks = part.get_payload()
    if not isinstance(blocks, list):
        return []
    failures = []
    for block in blocks[1:] if len(blocks) > 1 else blocks:
        if not isinstance(block, Message):
            continue
        action = (block.get("Action") or "").strip().lower()
        status = (block.get("Status") or "").strip().split(" ")[0]
        # The original recipient is the address we sent to; the final one may be where it was forwarded.
        address = _address(block.get("Original-Recipient")) or _address(block.get("Final-Recipient"))
        diagnostic = " ".join((block.get("Diagnostic-Code") or "").split(";", 1)[-1].split())
        if action in ("delivered", "relayed", "expanded"):
            continue
        if action == "delayed" or status.startswith("4"):
            kind = FeedbackKind.TRANSIENT
        elif action == "failed" or status.startswith("5"):
            kind = FeedbackKind.PERMANENT
        else:
            continue
        failures.append(Failure(address, kind, status, diagnostic or f"{action} {status}".strip()))
    return failures


def _complaint(msg: Message) -> tuple[Failure, ...]:
    """The complaining recipients an ARF report names (often redacted: then the quoted original's
    VERP Return-Path or Message-ID says who)."""
    addresses: list[str] = []
    feedback_type = ""
    for part in msg.walk():
        if part.get_content_type() == "message/feedback-report":
            headers = _fields(part)
            for name in ("Original-Rcpt-To", "Removal-Recipient"):
                addresses += [_address(v) for v in headers.get_all(name) or []]
            feedback_type = feedback_type or (headers.get("Feedback-Type") or "").strip()
        addresses += [_address(v) for v in part.get_all("X-HmXmrOriginalRecipient") or []]  # Microsoft's
    addresses = [a for a in dict.fromkeys(addresses) if a] or [""]
    return tuple(
        Failure(a, FeedbackKind.COMPLAINT, "", f"feedback-type {feedback_type or 'abuse'}") for a in addresses
    )


def _jmrp(msg: Message) -> tuple[Failure, ...]:
    """Microsoft's feedback loop as it usually arrives: not ARF, the original attached, the
    complaining recipient in X-HmXmrOriginalRecipient."""
    for part in msg.walk():
        value = part.get("X-HmXmrOriginalRecipient")
        if value:
            return (Failure(_address(value), FeedbackKind.COMPLAINT, "", "feedback-type abuse (JMRP)"),)
    return ()


def _fields(part: Message) -> Message:
    """A report part's fields as headers (the email package leaves message/feedback-report as text)."""
    payload = part.get_payload(decode=False)
    if isinstance(payload, list):
        return payload[0] if payload and isinstance(payload[0], Message) else part
    return message_from_string(str(payload).lstrip(), policy=policy.compat32)


def _is_autoreply(msg: Message) -> bool:
    sender = f"{msg.get('From', '')} {msg.get('Return-Path', '')}"
    if _DAEMON.search(sender):
        return False  # a mail server's notice, whatever its headers say (Exim marks bounces auto-replied)
    auto = (msg.get("Auto-Submitted") or "no").strip().lower()
    precedence = (msg.get("Precedence") or "").strip().lower()
    return (
        auto.startswith("auto-replied")
        or msg.get("X-Autoreply") is not None
        or msg.get("X-Autorespond") is not None
        or precedence == "auto_reply"
        or _AUTO_SUBJECT.search(msg.get("Subject") or "") is not None
    )


def _other_formats(msg: Message, whole: str) -> tuple[Failure, ...]:
    from flufl.bounce import all_failures  # imported when needed: about 40 detectors

    temporary, permanent = all_failures(msg)
    diagnostic, status = _diagnostic(whole)
    failures = [
        Failure(a.decode("utf-8", "replace").lower(), FeedbackKind.PERMANENT, status, diagnostic)
        for a in sorted(permanent)
    ]
    failures += [
        Failure(a.decode("utf-8", "replace").lower(), FeedbackKind.TRANSIENT, status, diagnostic)
        for a in sorted(temporary - permanent)
    ]
    return tuple(f for f in failures if "@" in f.address)


def _diagnostic(text: str) -> tuple[str, str]:
    """The first SMTP reply a free-form bounce quotes, and its enhanced status code."""
    reply = _SMTP_REPLY.search(text)
    if reply is None:
        return "", ""
    words = " ".join(f"{reply[1]} {reply[2]}".split())
    code = _ENHANCED.search(reply[2])
    return words, code[1] if code else ""


def _worst(failures: tuple[Failure, ...]) -> FeedbackKind:
    kinds = {f.kind for f in failures}
    for kind in (FeedbackKind.COMPLAINT, FeedbackKind.PERMANENT):
        if kind in kinds:
            return kind
    return FeedbackKind.TRANSIENT
