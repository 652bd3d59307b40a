"""Transports send message bytes and say what happened; they know nothing of issues or ledgers.

    Transport.open()                       connect (may raise DeliveryError: nothing can be sent)
    Transport.send(sender, rcpt, data)     -> DeliveryResult: sent / deferred (4xx, dropped) / failed (5xx)
    Transport.close()

``SmtpTransport`` for production, ``MaildirTransport`` (one file per message) for trying things out,
``MemoryTransport`` for tests of code that sends.
"""

from __future__ import annotations

from newsletter.config import Settings
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
