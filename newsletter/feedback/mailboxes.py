"""The bounce mailbox: an IMAP folder (imapclient) or a local Maildir.

Both give every message in the folder without marking it read, and move a message the caller
recognised as about our mail to ``[bounces] processed_folder``. Nothing is ever deleted: mail that is
not about our mail stays where it was, unread.
"""

from __future__ import annotations

import contextlib
import mailbox
import os
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from newsletter.config import Settings
from newsletter.errors import NewsletterError
from newsletter.transports.smtp import tls_context

BATCH = 100  # messages fetched from IMAP per round trip


class FeedbackError(NewsletterError):
    """The bounce mailbox cannot be read."""


class Mailbox(Protocol):
    def messages(self) -> Iterator[tuple[str, bytes]]: ...
    def move_to_processed(self, key: str) -> None: ...
    def close(self) -> None: ...


def open_mailbox(settings: Settings) -> Mailbox:
    b = settings.bounces
    if b.mailbox == "maildir":
        return MaildirBox(settings.path(b.maildir), b.processed_folder)
    if b.mailbox == "imap":
        return ImapBox(settings)
    raise FeedbackError(
        "no bounce mailbox is configured ([bounces] mailbox is empty)",
        hint='set [bounces] mailbox = "imap" (with host, username) or "maildir", see README "Bounces"',
    )


class MaildirBox:
    def __init__(self, path: Path, processed: str) -> None:
        if not (path / "new").is_dir() and not (path / "cur").is_dir():
            raise FeedbackError(
                f"[bounces] maildir: {path} is not a Maildir (no new/ or cur/ folder in it)",
                hint="give the Maildir your mail server delivers the return path's mail to",
            )
        self.path = path
        self.box = mailbox.Maildir(path, create=False)
        self.processed_name = processed

    def messages(self) -> Iterator[tuple[str, bytes]]:
        for key in sorted(self.box.iterkeys()):
            try:
                yield key, self.box.get_bytes(key)
            except KeyError:  # taken by another reader meanwhile
                continue

    def move_to_processed(self, key: str) -> None:
        """Copy into the Maildir++ subfolder, then remove from the inbox: a crash in between leaves
        a copy in both, never none."""
        if self.processed_name not in self.box.list_folders():
            self.box.add_folder(self.processed_name)
        folder = self.box.get_folder(self.processed_name)
        message = self.box.get_message(key)
        folder.add(message)
        self.box.discard(key)

    def close(self) -> None:
        self.box.close()


class ImapBox:
    def __init__(self, settings: Settings) -> None:
        from imapclient import IMAPClient  # imported when a mailbox is read
        from imapclient.exceptions import IMAPClientError, LoginError

        b = settings.bounces
        if not b.host:
            raise FeedbackError("[bounces] host is empty", hint="give the IMAP server of the bounce mailbox")
        password = os.environ.get(b.password_env, "")
        if b.username and not password:
            raise FeedbackError(
                f"the bounce mailbox password is not set: ${b.password_env} is empty",
                hint=f"export {b.password_env}=... (the password of [bounces] username {b.username})",
            )
        self.folder, self.processed_name = b.folder, b.processed_folder
        where = f"{b.host}:{b.port}"
        context = tls_context(b.tls_verify, str(settings.path(b.tls_ca_file)) if b.tls_ca_file else "")
        try:
            self.client = IMAPClient(
                b.host, port=b.port, ssl=b.security == "tls", ssl_context=context, timeout=30
            )
            if b.security == "starttls":
                self.client.starttls(context)
            if b.username:
                self.client.login(b.username, password)
            self.client.select_folder(self.folder)
        except LoginError as exc:
            raise FeedbackError(
                f"the IMAP server {where} refused the login of {b.username}: {_said(exc)}",
                hint=f"check [bounces] username and ${b.password_env}",
            ) from exc
        except ssl.SSLError as exc:
            raise FeedbackError(
                f"TLS with the IMAP server {where} failed: {exc.reason or exc}",
                hint='check [bounces] security ("tls" for port 993, "starttls" for 143) and tls_ca_file',
            ) from exc
        except (TimeoutError, OSError) as exc:
            raise FeedbackError(
                f"cannot connect to the IMAP server {where}: {exc.strerror or exc}",
                hint="check [bounces] host and port, and that the server is running",
            ) from exc
        except IMAPClientError as exc:
            raise FeedbackError(
                f"the IMAP server {where} refused folder {self.folder!r}: {_said(exc)}",
                hint="check [bounces] folder",
            ) from exc

    def messages(self) -> Iterator[tuple[str, bytes]]:
        uids = sorted(self.client.search("ALL"))
        for start in range(0, len(uids), BATCH):
            fetched = self.client.fetch(uids[start : start + BATCH], [b"BODY.PEEK[]"])
            for uid, data in sorted(fetched.items()):
                yield str(uid), bytes(data[b"BODY[]"])

    def move_to_processed(self, key: str) -> None:
        if not self.client.folder_exists(self.processed_name):
            self.client.create_folder(self.processed_name)
        if self.client.has_capability("MOVE"):
            self.client.move([int(key)], self.processed_name)
        else:  # copy, then delete only that message (UID EXPUNGE where the server has it)
            self.client.copy([int(key)], self.processed_name)
            self.client.delete_messages([int(key)])
            if self.client.has_capability("UIDPLUS"):
                self.client.uid_expunge([int(key)])
            else:
                self.client.expunge()

    def close(self) -> None:
        with contextlib.suppress(Exception):  # closing a connection that may be gone
            self.client.logout()


def _said(exc: Exception) -> str:
    text = exc.args[0] if exc.args else exc
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return " ".join(str(text).split())
