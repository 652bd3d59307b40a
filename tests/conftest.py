"""Real peers on 127.0.0.1 for the tests: an SMTP server, an HTTP server, the CLI's entry point, and
the database every test runs against, once on SQLite and once on PostgreSQL.

The database: every test is run twice, ``[sqlite]`` and ``[postgresql]`` (the autouse ``database``
fixture). With ``sqlite`` a project keeps its ``[newsletter] database`` file; with ``postgresql`` a
fresh database is created on the server $NEWSLETTER_TEST_POSTGRES (default
postgresql://postgres@127.0.0.1:5432/test) and $NEWSLETTER_DATABASE points every project of the test,
and every subprocess it starts, at it. Without a reachable server the ``postgresql`` runs skip, or
fail when NEWSLETTER_REQUIRE_POSTGRES=1 (as in CI). Mark a test or module ``sqlite_only`` when it
never opens a database, or when what it tests exists on SQLite only.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import functools
import http.server
import os
import secrets
import shutil
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

import psycopg
import pytest
import zygote
from aiosmtpd.controller import Controller
from sqlalchemy.engine import URL, make_url

# The commands' consoles are made when newsletter.cli is first imported, in this process too (run_cli
# runs most commands in it): the width of the subprocesses' output, whatever the terminal.
os.environ["COLUMNS"] = "200"

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "nato"
SHARED = ROOT.parent / "shared"

# --- the database: SQLite and PostgreSQL ------------------------------------------------------

DATABASE_ENV = "NEWSLETTER_DATABASE"  # the product's override of [newsletter] database
POSTGRES_ENV = "NEWSLETTER_TEST_POSTGRES"  # the server the tests create their databases on
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
REQUIRE_POSTGRES_ENV = "NEWSLETTER_REQUIRE_POSTGRES"  # "1": an unreachable server fails the run
BACKENDS = ("sqlite", "postgresql")


def pytest_unconfigure(config: pytest.Config) -> None:
    zygote.close_all()


def pytest_configure(config: pytest.Config) -> None:
    # The suite chooses the database of each test; an override left in the shell must not leak
    # into fixtures set up outside a test's ``database`` (module-scoped ones, which use SQLite).
    os.environ.pop(DATABASE_ENV, None)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "database" not in metafunc.fixturenames:
        return
    backends = list(BACKENDS)
    if metafunc.definition.get_closest_marker("sqlite_only"):
        backends = ["sqlite"]
    elif metafunc.definition.get_closest_marker("postgresql_only"):
        backends = ["postgresql"]
    metafunc.parametrize("database", backends, indirect=True, ids=backends)


def postgres_server() -> URL:
    """The server (and the database to connect to for CREATE/DROP DATABASE) the tests use."""
    url = make_url(os.environ.get(POSTGRES_ENV) or DEFAULT_POSTGRES)
    return url.set(drivername="postgresql")  # psycopg takes a plain postgresql:// conninfo


def _admin() -> psycopg.Connection:
    server = postgres_server()
    return psycopg.connect(server.render_as_string(hide_password=False), autocommit=True, connect_timeout=10)


@functools.cache
def postgres_unreachable() -> str:
    """Why the PostgreSQL server cannot be used, or "" when it can; asked once per session."""
    try:
        with _admin() as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        shown = postgres_server().render_as_string(hide_password=True)
        reason = " ".join(str(exc).split()) or exc.__class__.__name__
        return (
            f"PostgreSQL not reachable at {shown} ({reason}): set {POSTGRES_ENV} to a server's URL "
            f"where the user may create databases, e.g. {DEFAULT_POSTGRES}"
        )
    return ""


def create_postgres_database() -> str:
    """A new empty database on the test server; its SQLAlchemy URL (postgresql://...)."""
    problem = postgres_unreachable()
    if problem:
        if os.environ.get(REQUIRE_POSTGRES_ENV) == "1":
            pytest.fail(f"{problem} ({REQUIRE_POSTGRES_ENV}=1)", pytrace=False)
        pytest.skip(problem)
    name = f"nl_{secrets.token_hex(8)}"
    with _admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return postgres_server().set(database=name).render_as_string(hide_password=False)


def drop_postgres_database(url: str) -> None:
    name = make_url(url).database
    with _admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(autouse=True)
def database(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str | None]:
    """The backend of this run of the test: None for SQLite (each project's own file), else the URL
    of a fresh PostgreSQL database that $NEWSLETTER_DATABASE gives every project and subprocess."""
    backend = getattr(request, "param", "sqlite")
    if backend == "sqlite":
        monkeypatch.delenv(DATABASE_ENV, raising=False)
        yield None
        return
    url = create_postgres_database()
    monkeypatch.setenv(DATABASE_ENV, url)
    try:
        yield url
    finally:
        drop_postgres_database(url)


@pytest.fixture
def new_database(database: str | None, tmp_path: Path) -> Iterator[Callable[[str], str]]:
    """Makes another empty database on the backend under test, for a test that needs more than one
    (two independent projects, or a new database each round): ``new_database(name)`` returns its URL,
    a SQLite file ``tmp_path/name.db`` or a fresh PostgreSQL database, dropped after the test.
    A project uses it through ``[newsletter] database_env`` naming a variable set to that URL."""
    made: list[str] = []

    def make(name: str) -> str:
        if database is None:
            return f"sqlite:///{tmp_path / name}.db"
        made.append(create_postgres_database())
        return made[-1].replace("postgresql://", "postgresql+psycopg://", 1)  # as Settings gives it

    yield make
    for url in made:
        drop_postgres_database(url)


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
class SlowHandler(RecordingHandler):
    """Takes ``delay`` seconds to answer each DATA: time to signal a send in the middle of it."""

    delay: float = 0.0

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        await asyncio.sleep(self.delay)
        return await super().handle_DATA(server, session, envelope)


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


# Commands that start processes of their own (SMTP workers are forked), run a server or a daemon, or
# are stopped by signals: these run as a real `python -m newsletter` process.
_OWN_PROCESS = {"serve", "schedule"}


def run_cli(
    *args: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 120,
    process: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Run the command line: in this process (click's CliRunner: the same entry point, without
    the second an interpreter takes to start), or, for what needs one (``process``, a server, the
    daemon, a send over SMTP), as a `python -m newsletter` process of its own (forked from a
    preloaded interpreter: tests/zygote.py)."""
    full_env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", **(env or {})}
    full_env.pop("NEWSLETTER_CONFIG", None) if env is None or "NEWSLETTER_CONFIG" not in env else None
    if process or _needs_process(args, cwd, full_env):
        return zygote.run(args, env=full_env, cwd=cwd, timeout=timeout)
    return _in_process(list(args), full_env)


def _needs_process(args: tuple[str, ...], cwd: Path | None, env: dict[str, str]) -> bool:
    if cwd is not None or _OWN_PROCESS & set(args):
        return True
    if "send" in args or "preview" in args:  # over SMTP, send forks its workers; --to sends
        config = args[args.index("--config") + 1] if "--config" in args else env.get("NEWSLETTER_CONFIG", "")
        try:
            return 'transport = "smtp"' in Path(config or "newsletter.toml").read_text()
        except OSError:
            return False
    return False


def _in_process(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    from click.testing import CliRunner

    from newsletter.cli import main

    # CliRunner replaces os.environ by these values while the command runs (None removes a key).
    changes: dict[str, str | None] = {k: v for k, v in env.items() if os.environ.get(k) != v}
    changes.update({k: None for k in os.environ if k not in env})
    result = CliRunner().invoke(main, args, env=changes, catch_exceptions=True)
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        # What the interpreter would print for an exception nobody caught.
        import traceback

        stderr += "Traceback (most recent call last):\n" + "".join(
            traceback.format_exception(result.exception)
        )
    return subprocess.CompletedProcess(["newsletter", *args], result.exit_code, result.stdout, stderr)


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """A copy of the NATO example in a temporary folder; returns its config path."""
    target = tmp_path / "nato"
    shutil.copytree(
        EXAMPLE,
        target,
        ignore=shutil.ignore_patterns(
            "outbox",
            "*.db",
            "*.db-*",
            "*.send-lock",
            ".newsletter-history",
            ".newsletter-suppressions",
            "backups",
        ),
    )
    shutil.copy(ROOT / "subscribers.example.csv", target / "subscribers.csv")
    config = target / "newsletter.toml"
    config.write_text(config.read_text().replace('"../../subscribers.example.csv"', '"subscribers.csv"'))
    return config


def use_smtp(config: Path, server_host: str, port: int) -> None:
    text = config.read_text()
    text = text.replace(
        'transport = "maildir"',
        f'transport = "smtp"\nhost = "{server_host}"\nport = {port}\n'
        'security = "none"\nretry_base_seconds = 0.05\n'
        'readiness = "off"',  # a test server on 127.0.0.1: `newsletter check` would refuse it
    )
    config.write_text(text)


def at_once(target: Callable[..., object], *args: object, processes: int = 4) -> list[int | None]:
    """Run ``target(*args)`` in that many forked processes started together; their exit codes."""
    import multiprocessing

    context = multiprocessing.get_context("fork")
    started = [context.Process(target=target, args=args) for _ in range(processes)]
    for p in started:
        p.start()
    for p in started:
        p.join(60)
    return [p.exitcode for p in started]
