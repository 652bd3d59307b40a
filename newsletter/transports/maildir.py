from __future__ import annotations

import mailbox
from pathlib import Path

from newsletter.compose import Composed
from newsletter.errors import DeliveryError
from newsletter.models import DeliveryResult, DeliveryState


class MaildirTransport:
    """Delivers into a Maildir folder (cur/new/tmp) that any mail client opens: one file per message."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._box: mailbox.Maildir | None = None

    def open(self) -> None:
        if self._box is not None:
            return
        try:
            # The three folders first, each made idempotently: mailbox.Maildir(create=True) makes the
            # top folder before the others, and a second process or thread that sees it meanwhile
            # writes into a tmp/ that does not exist yet.
            for folder in ("tmp", "new", "cur"):
                (self.path / folder).mkdir(parents=True, exist_ok=True)
            self._box = mailbox.Maildir(self.path, create=True)
        except OSError as exc:
            raise DeliveryError(
                f"cannot create the maildir {self.path}: {exc.strerror}",
                hint="check [delivery] maildir in the config",
            ) from exc

    def send(self, sender: str, recipient: str, data: bytes | Composed) -> DeliveryResult:
        if self._box is None:
            self.open()
        assert self._box is not None
        try:
            # Maildir files use the local line ending; Return-Path/Delivered-To as a local delivery would.
            head = f"Return-Path: <{sender}>\nDelivered-To: {recipient}\n".encode()
            self._box.add(head + bytes(data).replace(b"\r\n", b"\n"))
        except OSError as exc:
            return DeliveryResult(DeliveryState.DEFERRED, 0, f"cannot write to {self.path}: {exc.strerror}")
        return DeliveryResult(DeliveryState.SENT, 250, f"delivered to {self.path}")

    def close(self) -> None:
        self._box = None
