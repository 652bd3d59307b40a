"""tests/imapd.py: a real Dovecot IMAP server on 127.0.0.1, over TLS from the first byte and over
STARTTLS, with a certificate of its own, one user, and folders on disk as Maildir++."""

from __future__ import annotations

import imaplib
import os
import socket
from pathlib import Path

import pytest
from imapd import ImapServer, imap, imap_server  # noqa: F401 (imap: the fixture)

pytestmark = pytest.mark.sqlite_only  # no database here


def message(n: int) -> bytes:
    return (
        f"From: MAILER-DAEMON@example.net\r\nTo: bounces@example.org\r\nSubject: bounce {n}\r\n"
        f"Message-ID: <bounce-{n}@example.net>\r\n\r\nLine one of {n}.\r\n\r\n-- \r\nLast line.\r\n"
    ).encode()


def test_append_read_back_and_move(tmp_path: Path) -> None:
    with imap_server(tmp_path) as server:
        server.append("INBOX", message(1))
        server.append("INBOX", message(2))
        assert server.messages("INBOX") == [message(1), message(2)]
        assert server.flags("INBOX") == [set(), set()]  # reading did not set \Seen

        # What the product does: its own session, the certificate verified, UID MOVE.
        client = imaplib.IMAP4_SSL(server.host, server.port_tls, ssl_context=server.ssl_context())
        client.login(server.user, server.password)
        assert client.create("Processed")[0] == "OK"
        assert client.select("INBOX")[0] == "OK"
        typ, data = client.uid("SEARCH", "HEADER", "Message-ID", "<bounce-2@example.net>")
        [uid] = data[0].split()
        assert client.uid("MOVE", uid, "Processed")[0] == "OK"
        client.logout()

        assert server.messages("INBOX") == [message(1)]
        assert server.messages("Processed") == [message(2)]
        assert server.folders() == ["INBOX", "Processed"]
        on_disk = server.maildir / ".Processed"  # Maildir++
        assert len(os.listdir(on_disk / "new")) + len(os.listdir(on_disk / "cur")) == 1
        pid, port = server.pid, server.port_tls
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)  # Dovecot and all its processes are gone, reaped
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2)


def test_wrong_password_fails(imap: ImapServer) -> None:  # noqa: F811 (the fixture)
    client = imaplib.IMAP4_SSL(imap.host, imap.port_tls, ssl_context=imap.ssl_context())
    with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
        client.login(imap.user, imap.password + "x")
    client.logout()
    assert imap.folders() == ["INBOX"]


def test_starttls_on_the_plain_port(tmp_path: Path) -> None:
    with imap_server(tmp_path) as server:
        client = imaplib.IMAP4(server.host, server.port_plain)
        assert "STARTTLS" in client.capabilities
        client.starttls(server.ssl_context())
        client.login(server.user, server.password)
        assert client.select("INBOX") == ("OK", [b"0"])
        client.logout()
        login = server.logins(at_least=2)[-1]  # the first: the helper's check that the server is up
        assert ", TLS," in login  # a login in plain text would say "secured" (127.0.0.1 is trusted)


def test_folder_names(tmp_path: Path) -> None:
    with imap_server(tmp_path) as server:
        server.append("INBOX/Processed", message(1))
        assert server.folders() == ["INBOX", "INBOX/Processed"]
        with pytest.raises(AssertionError, match="Character not allowed"):
            server.append("INBOX.Processed", message(2))
    with imap_server(tmp_path, separator=".") as server:  # a second server: dovecot-2, new ports
        server.append("INBOX.Processed", message(2))
        assert server.folders() == ["INBOX", "INBOX.Processed"]
        assert server.messages("INBOX.Processed") == [message(2)]
        assert (server.maildir / ".INBOX.Processed").is_dir()
