from __future__ import annotations

import contextlib
import smtplib
import ssl

from newsletter.errors import DeliveryError
from newsletter.models import DeliveryResult


class SmtpTransport:
    """One SMTP connection, reused for many messages; reconnects after a drop.

    A refused connection or login at ``open`` is a DeliveryError (nothing can be sent); per-message
    answers are classified: 2xx sent, 4xx and drops deferred, 5xx failed.
    """

    def __init__(
        self,
        host: str,
        port: int,
        security: str = "starttls",
        username: str = "",
        password: str = "",
        timeout: float = 30.0,
        password_env: str = "",
    ) -> None:
        self.host, self.port, self.security = host, port, security
        self.username, self.password, self.timeout = username, password, timeout
        self.password_env = password_env
        self._smtp: smtplib.SMTP | None = None

    def open(self) -> None:
        if self._smtp is not None:
            return
        where = f"{self.host}:{self.port}"
        try:
            context = ssl.create_default_context()
            if self.security == "tls":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    self.host, self.port, timeout=self.timeout, context=context
                )
            else:
                smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
                if self.security == "starttls":
                    smtp.starttls(context=context)
            if self.username:
                smtp.login(self.username, self.password)
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(
                f"SMTP server {where} refused the login for {self.username}: "
                f"{exc.smtp_code} {_text(exc.smtp_error)}",
                hint=f"check [delivery] username and the password in ${self.password_env}",
            ) from exc
        except smtplib.SMTPNotSupportedError as exc:
            raise DeliveryError(
                f"SMTP server {where} does not support {self.security.upper()}",
                hint='set [delivery] security = "tls" for port 465, or "none" only for localhost',
            ) from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(
                f"cannot connect to the SMTP server {where}: {exc}",
                hint="check [delivery] host, port and security, and that the server is up",
            ) from exc
        self._smtp = smtp

    def send(self, sender: str, recipient: str, data: bytes) -> DeliveryResult:
        if self._smtp is None:
            try:
                self.open()
            except DeliveryError as exc:
                return DeliveryResult("deferred", 0, exc.message)
        assert self._smtp is not None
        try:
            refused = self._smtp.sendmail(sender, [recipient], data)
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = exc.recipients.get(recipient, (550, b"recipient refused"))
            return _classify(code, reply)
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
            self._drop() if exc.smtp_code == 421 else self._reset()
            return _classify(exc.smtp_code, exc.smtp_error)
        except smtplib.SMTPResponseException as exc:
            self._drop()
            return _classify(exc.smtp_code, exc.smtp_error)
        except (TimeoutError, smtplib.SMTPServerDisconnected, OSError) as exc:
            self._drop()
            return DeliveryResult("deferred", 0, f"connection lost: {exc or exc.__class__.__name__}")
        if refused:
            code, reply = refused[recipient]
            return _classify(code, reply)
        return DeliveryResult("sent", 250, "OK")

    def _reset(self) -> None:
        try:
            if self._smtp is not None:
                self._smtp.rset()
        except (smtplib.SMTPException, OSError):
            self._drop()

    def _drop(self) -> None:
        if self._smtp is not None:
            with contextlib.suppress(OSError):
                self._smtp.close()
        self._smtp = None

    def close(self) -> None:
        if self._smtp is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self._smtp.quit()
        self._drop()


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


def _classify(code: int, reply: bytes | str) -> DeliveryResult:
    text = " ".join(_text(reply).split())
    if 200 <= code < 300:
        return DeliveryResult("sent", code, text)
    if 400 <= code < 500 or code <= 0:
        return DeliveryResult("deferred", code, text)
    return DeliveryResult("failed", code, text)
