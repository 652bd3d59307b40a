"""Transports send message bytes and say what happened; they know nothing of issues or ledgers.

    Transport.open()                       connect (may raise DeliveryError: nothing can be sent)
    Transport.send(sender, rcpt, data)     -> DeliveryResult: sent / deferred (4xx, dropped) / failed (5xx)
    Transport.close()

``SmtpTransport`` for production, ``MaildirTransport`` (one file per message) for trying things out,
``MemoryTransport`` for tests of code that sends.
"""

from __future__ import annotations

import re
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

from newsletter.config import Settings
from newsletter.errors import DeliveryError
from newsletter.models import DeliveryState
from newsletter.transports.base import Transport
from newsletter.transports.maildir import MaildirTransport
from newsletter.transports.memory import MemoryTransport
from newsletter.transports.smtp import SmtpTransport


def transport_for(settings: Settings) -> Transport:
    """A new, unopened transport as the config describes it."""
    d = settings.delivery
    if d.transport == "maildir":
        return MaildirTransport(settings.path(d.maildir))
    return SmtpTransport(
        host=d.host,
        port=d.port,
        security=d.security,
        username=d.username,
        password=settings.smtp_password,
        timeout=d.timeout,
        password_env=d.password_env,
        tls_verify=d.tls_verify,
        tls_ca_file=str(settings.path(d.tls_ca_file)) if d.tls_ca_file else "",
    )


__all__ = ["MaildirTransport", "MemoryTransport", "SmtpTransport", "Transport", "transport_for"]


def send_note(
    settings: Settings, to: str, subject: str, body: str, headers: dict[str, str] | None = None
) -> None:
    """One short plain-text email to ``to`` through the configured transport (an alert, a signup
    confirmation); DeliveryError when it cannot go."""
    sender = parseaddr(settings.sender.from_)[1]
    msg = EmailMessage()
    msg["From"] = settings.sender.from_
    msg["To"] = to
    msg["Subject"] = re.sub(r"[\x00-\x1f\x7f]", " ", subject)  # header values: no CR, LF (DESIGN.md)
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    msg["Auto-Submitted"] = "auto-generated"
    for header, value in (headers or {}).items():
        msg[header] = value
    msg.set_content(body)
    transport = transport_for(settings)
    transport.open()
    try:
        result = transport.send(sender, to, msg.as_bytes())
    finally:
        transport.close()
    if result.state != DeliveryState.SENT:
        raise DeliveryError(f"the server answered {result.code} {result.reply}".rstrip())


def note_editors(settings: Settings, subject: str, body: str) -> None:
    """``send_note`` to each of the editors ([schedule] editors, else [sender] admin)."""
    for editor in settings.editors:
        send_note(settings, editor, subject, body)
