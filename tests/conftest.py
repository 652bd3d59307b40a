"""Real peers on 127.0.0.1 for the tests: an SMTP server, an HTTP server, and the CLI's entry point."""

from __future__ import annotations

import email
import email.policy
import functools
import http.server
import os
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "nato"
SHARED = ROOT.parent / "shared"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Received:
    envelope_from: str
    recipients: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.data, policy=email.policy.default)  # type: ignore[return-value]


@dataclass
class RecordingHandler:
    """Accepts every message and keeps it; ``answer`` may return an SMTP reply to refuse one instead."""

    received: list[Received] = field(default_factory=list)
    answer: object = None

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        if callable(self.answer):
            reply = self.answer(envelope)
            if reply:
                return reply
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 OK"


@dataclass
class SmtpServer:
    host: str
    port: int
    handler: RecordingHandler

    @property
    def received(self) -> list[Received]:
        return self.handler.received


@contextmanager
def running_smtp(handler: RecordingHandler) -> Iterator[SmtpServer]:
    """An aiosmtpd server on a free port of 127.0.0.1, answering with ``handler``."""
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpServer("127.0.0.1", port, handler)
    finally:
        controller.stop()


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    with running_smtp(RecordingHandler()) as server:
        yield server


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002
        pass


@pytest.fixture
def http_dir(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A folder served over HTTP on 127.0.0.1: (folder, base URL)."""
    folder = tmp_path / "www"
    folder.mkdir()
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(folder))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield folder, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def run_cli(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run the real entry point, `python -m newsletter`, in a subprocess."""
    full_env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", **(env or {})}
    full_env.pop("NEWSLETTER_CONFIG", None) if env is None or "NEWSLETTER_CONFIG" not in env else None
    return subprocess.run(
        [sys.executable, "-m", "newsletter", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """A copy of the NATO example in a temporary folder; returns its config path."""
    target = tmp_path / "nato"
    shutil.copytree(EXAMPLE, target, ignore=shutil.ignore_patterns("outbox", "*.db", "*.db-*", "*.send-lock"))
    shutil.copy(ROOT / "subscribers.example.csv", target / "subscribers.csv")
    config = target / "newsletter.toml"
    config.write_text(config.read_text().replace('"../../subscribers.example.csv"', '"subscribers.csv"'))
    return config


def use_smtp(config: Path, server_host: str, port: int) -> None:
    text = config.read_text()
    text = text.replace(
        'transport = "maildir"',
        f'transport = "smtp"\nhost = "{server_host}"\nport = {port}\n'
        'security = "none"\nretry_base_seconds = 0.05',
    )
    config.write_text(text)
