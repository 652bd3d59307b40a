"""The Maildir transport, written to by several threads that find the folder missing at once
(serve's signup emails, a send and serve together)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from newsletter.transports.maildir import MaildirTransport

pytestmark = pytest.mark.sqlite_only
MESSAGE = b"Subject: hi\r\n\r\nhi\r\n"


def deliver_at_once(folder: Path, writers: int) -> list[str]:
    """Each writer opens its own transport on ``folder`` and sends one message, all released together."""
    results: list[str] = []
    start = threading.Barrier(writers)

    def deliver(n: int) -> None:
        transport = MaildirTransport(folder)
        start.wait()
        results.append(transport.send("news@example.org", f"r{n}@example.org", MESSAGE).state)

    threads = [threading.Thread(target=deliver, args=(n,)) for n in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_many_writers_creating_the_maildir_at_once_all_deliver(tmp_path: Path) -> None:
    for round_ in range(20):
        folder = tmp_path / f"outbox{round_}"
        assert deliver_at_once(folder, 8) == ["sent"] * 8
        assert len(list((folder / "new").iterdir())) == 8
