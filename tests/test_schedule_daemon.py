"""`newsletter schedule` as real processes: a real job store (in the SQLite file, or PostgreSQL), a real
SMTP server on 127.0.0.1.

Schedules are due a minute or two ahead; each daemon reads its time through the hidden
``--clock FILE`` option (the system clock plus the seconds in FILE), and a test makes the time jump
to the due moment once the daemon is up, so no test waits for the clock.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import SlowHandler, SmtpServer, run_cli, running_smtp
from sqlalchemy import create_engine, text
from test_schedule import current_feed
from zygote import newsletter_process

from newsletter.config import load_settings
from newsletter.schedule import FileClock

ZONE = ZoneInfo("Europe/Brussels")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ADMIN = "admin@example.org"


@pytest.fixture
def slow_smtp() -> Iterator[SmtpServer]:
    with running_smtp(SlowHandler()) as server:
        yield server


@dataclass
class Due:
    when: str  # what the config says: day and minute
    at: datetime


def due_ahead(*, days_later: int = 0) -> Due:
    """A minute at least 90 s ahead (room for a daemon to start before its time comes)."""
    at = (datetime.now(ZONE) + timedelta(seconds=90)).replace(second=0, microsecond=0) + timedelta(minutes=1)
    at += timedelta(days=days_later)
    return Due(f"{DAYS[at.weekday()]} {at:%H:%M}", at)


def clock_of(config: Path) -> Path:
    """The file every daemon of this project reads its time from (see newsletter.schedule.clock)."""
    return config.parent / "clock"


def set_clock(config: Path, moment: datetime) -> None:
    """Every daemon of the project now reads ``moment`` as the time (and the time runs on from it)."""
    FileClock.write(clock_of(config), moment)


def fire(config: Path, due: Due) -> None:
    """Move the daemons' time to just before ``due``: the run falls due as it would have in real time."""
    set_clock(config, due.at - timedelta(seconds=0.3))


def make_project(
    folder: Path,
    smtp: SmtpServer,
    *,
    when: str,
    subscribers: int = 4,
    extra: str = "",
    source: str = "",
    delivery: str = "",
) -> Path:
    """A project sending the feed's items over SMTP to ``subscribers`` readers; ``extra``: more lines
    of [schedule], ``delivery``: more lines of [delivery]."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "feed.xml").write_text(current_feed(3), encoding="utf-8")
    rows = "".join(f"reader{i:02d}@example.org,Reader {i}\n" for i in range(subscribers))
    (folder / "subscribers.csv").write_text("email,name\n" + rows, encoding="utf-8")
    config = folder / "newsletter.toml"
    config.write_text(
        f"""
[newsletter]
name = "This Week"
timezone = "Europe/Brussels"

[sender]
from = "This Week <news@example.org>"
admin = "{ADMIN}"

[[sources]]
name = "Now"
{source or 'path = "feed.xml"'}

[subscribers]
csv = "subscribers.csv"

[delivery]
transport = "smtp"
host = "127.0.0.1"
port = {smtp.port}
security = "none"
retry_base_seconds = 0.05
readiness = "off"
{delivery}

[schedule]
when = "{when}"
{extra}
""",
        encoding="utf-8",
    )
    return config


class DaemonProcess:
    """`python -m newsletter schedule` in a subprocess, its output collected as it comes."""

    def __init__(self, config: Path) -> None:
        env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
        env.pop("NEWSLETTER_CONFIG", None)
        self.proc = newsletter_process(
            [
                "--config",
                str(config),
                "schedule",
                "--clock",
                str(clock_of(config)),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            start_new_session=True,  # its own process group, as under systemd or in a terminal
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, text: str, timeout: float = 30) -> None:
        wait_until(lambda: text in self.output, timeout, f"{text!r} in the daemon's output:\n{self.output}")

    def stop(self, timeout: float = 30, sig: signal.Signals = signal.SIGTERM) -> int:
        """Signal the whole process group, as systemd (SIGTERM) and Ctrl-C (SIGINT) do; the exit code."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
        code = self.proc.wait(timeout)
        self._reader.join(5)
        return code

    def kill(self) -> None:
        """SIGKILL to the whole group: nothing gets to finish or record anything."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)


@pytest.fixture
def daemons() -> Iterator[Callable[[Path], DaemonProcess]]:
    started: list[DaemonProcess] = []

    def start(config: Path) -> DaemonProcess:
        started.append(DaemonProcess(config))
        return started[-1]

    yield start
    for d in started:
        d.kill()


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def to_readers(smtp: SmtpServer) -> list[str]:
    return sorted(r.recipients[0] for r in smtp.received if r.recipients[0] != ADMIN)


def readers(n: int) -> list[str]:
    return [f"reader{i:02d}@example.org" for i in range(n)]


def query(config: Path, sql: str) -> list[tuple]:
    """Rows of ``sql`` from the project's database (read as it is: nothing created)."""
    engine = create_engine(load_settings(config).database_url)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text(sql))]
    finally:
        engine.dispose()


def schedule_runs(config: Path) -> list[tuple[str, str]]:
    return query(config, "SELECT outcome, message FROM runs WHERE trigger = 'schedule' ORDER BY id")


def status(config: Path) -> str:
    result = run_cli("--config", str(config), "status")
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_a_run_due_while_down_runs_once_at_restart_and_never_again(
    tmp_path: Path, smtp_server: SmtpServer, daemons
) -> None:
    due = due_ahead()
    config = make_project(tmp_path / "p", smtp_server, when=due.when)
    first = daemons(config)
    first.wait_for("next run: " + f"{due.at:%a %Y-%m-%d %H:%M:%S}")
    assert "next scheduled run: " + f"{due.at:%a %Y-%m-%d %H:%M:%S}" in status(config)
    assert first.stop() == 0
    set_clock(config, due.at + timedelta(seconds=1))  # it falls due while no daemon runs

    second = daemons(config)
    wait_until(lambda: len(to_readers(smtp_server)) == 4, 30, "the issue at restart")
    wait_until(lambda: [o for o, _ in schedule_runs(config)] == ["sent"], 10, "the run recorded")
    assert second.stop() == 0
    assert to_readers(smtp_server) == readers(4)
    assert "missed while down: running it now" in second.output
    shown = status(config)
    assert "(schedule): sent" in shown
    assert "next scheduled run: " + f"{due.at + timedelta(days=7):%a %Y-%m-%d %H:%M:%S}" in shown

    third = daemons(config)  # a restart after the send sends nothing more
    third.wait_for("next run:")
    time.sleep(1)
    assert third.stop() == 0
    assert "schedule changed" not in third.output and "running it now" not in third.output
    assert to_readers(smtp_server) == readers(4)
    assert [o for o, _ in schedule_runs(config)] == ["sent"]


def test_a_restart_with_a_changed_schedule_keeps_the_due_run(
    tmp_path: Path, smtp_server: SmtpServer, daemons
) -> None:
    due = due_ahead()
    config = make_project(tmp_path / "p", smtp_server, when=due.when)
    first = daemons(config)
    first.wait_for("next run:")
    assert first.stop() == 0
    set_clock(config, due.at + timedelta(seconds=1))
    moved = f"{DAYS[(due.at.weekday() + 2) % 7]} {due.at:%H:%M}"  # the operator moved it two days later
    config.write_text(config.read_text().replace(f'when = "{due.when}"', f'when = "{moved}"'))

    second = daemons(config)
    wait_until(lambda: len(to_readers(smtp_server)) == 4, 30, "the due run despite the new schedule")
    wait_until(lambda: [o for o, _ in schedule_runs(config)] == ["sent"], 10, "the run recorded")
    assert second.stop() == 0
    assert "schedule changed to" in second.output
    next_week = f"{due.at.replace(second=0) + timedelta(days=2):%a}"
    assert f"next scheduled run: {next_week}" in status(config)
    assert to_readers(smtp_server) == readers(4)


def _set_next_run(config: Path, moment: datetime) -> None:
    """Move the stored job's next run time back, as a daemon down for days leaves it."""
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler

    from newsletter import store
    from newsletter.schedule import WEEKLY_JOB

    engine = store.open_engine(load_settings(config).database_url)
    jobs = SQLAlchemyJobStore(engine=engine, tablename=store.runs.JOB_TABLE)
    jobs.start(BackgroundScheduler(timezone=ZONE), "default")  # the job store only; nothing runs here
    job = jobs.lookup_job(WEEKLY_JOB)
    assert job is not None
    job.next_run_time = moment
    jobs.update_job(job)
    engine.dispose()


@pytest.mark.parametrize("grace_hours", [12.0, 0.5])
def test_several_missed_periods_run_once_within_the_grace_and_never_after_it(
    tmp_path: Path, smtp_server: SmtpServer, daemons, grace_hours: float
) -> None:
    # Every day at the minute an hour ago: down for three days, the daemon missed four runs.
    hour_ago = datetime.now(ZONE) - timedelta(hours=1)
    config = make_project(
        tmp_path / "p", smtp_server, when=f"daily {hour_ago:%H:%M}", extra=f"grace_hours = {grace_hours}"
    )
    first = daemons(config)
    first.wait_for("next run:")
    assert first.stop() == 0
    _set_next_run(config, hour_ago.replace(second=0, microsecond=0) - timedelta(days=3))

    second = daemons(config)
    if grace_hours > 1:
        wait_until(lambda: len(to_readers(smtp_server)) == 4, 30, "the one coalesced run")
        wait_until(lambda: [o for o, _ in schedule_runs(config)] == ["sent"], 10, "the run recorded")
        time.sleep(1)
        assert [o for o, _ in schedule_runs(config)] == ["sent"]  # once, not once per missed day
    else:
        wait_until(lambda: [o for o, _ in schedule_runs(config)] == ["missed"], 30, "the missed run recorded")
        (message,) = [m for o, m in schedule_runs(config)]
        assert "missed by more than 0.5 hour(s)" in message and "next issue's window covers" in message
        assert "missed by more than 0.5 hour(s)" in second.output
        assert to_readers(smtp_server) == []
    assert second.stop() == 0


def test_two_daemons_on_one_database_send_one_issue(tmp_path: Path, slow_smtp: SmtpServer, daemons) -> None:
    slow_smtp.handler.delay = 0.05  # type: ignore[attr-defined]
    due = due_ahead()
    config = make_project(
        tmp_path / "p", slow_smtp, when=due.when, subscribers=20, extra="retry_minutes = 0.05"
    )
    # The list exists before the daemons start. (Two first-ever CSV syncs at the same instant can
    # collide on subscribers.email; the losing run is then retried, which is not what this test is about.)
    imported = run_cli(
        "--config", str(config), "subscribers", "import", str(config.parent / "subscribers.csv")
    )
    assert imported.returncode == 0, imported.stderr
    one, two = daemons(config), daemons(config)
    one.wait_for("next run:")
    two.wait_for("next run:")
    fire(config, due)
    wait_until(lambda: len(to_readers(slow_smtp)) >= 20, 60, "the issue")
    # Both see the time come: one sends; the other finds the lock or the issue taken, or (looking a
    # moment later) the shared job already moved to next week.
    wait_until(lambda: "sent" in [o for o, _ in schedule_runs(config)], 60, "the run recorded")
    time.sleep(4)  # a busy daemon checks again after retry_minutes (3 s here)
    assert one.stop() == 0 and two.stop(sig=signal.SIGINT) == 0
    assert to_readers(slow_smtp) == readers(20)  # everyone once
    outcomes = [o for o, _ in schedule_runs(config)]
    assert outcomes.count("sent") == 1, outcomes
    assert set(outcomes) <= {"sent", "busy", "already-sent"}, schedule_runs(config)


def test_sigterm_mid_send_stops_cleanly_and_the_next_start_resumes(
    tmp_path: Path, slow_smtp: SmtpServer, daemons
) -> None:
    slow_smtp.handler.delay = 0.5  # type: ignore[attr-defined]
    due = due_ahead()
    config = make_project(tmp_path / "p", slow_smtp, when=due.when, subscribers=20)
    first = daemons(config)
    first.wait_for("next run:")
    fire(config, due)
    wait_until(lambda: len(to_readers(slow_smtp)) >= 3, 40, "the send to begin")
    assert first.stop() == 0  # SIGTERM: the message in flight finishes, then exit 0
    received = to_readers(slow_smtp)
    assert 3 <= len(received) < 20
    sent = query(
        config,
        "SELECT s.email FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id WHERE d.state = 'sent'",
    )
    assert sorted(e for (e,) in sent) == received  # the ledger says exactly what the server got
    assert query(config, "SELECT state FROM issues") == [("sending",)]
    assert [o for o, _ in schedule_runs(config)] == ["stopped"]
    assert "(schedule): stopped" in status(config)

    second = daemons(config)
    wait_until(lambda: len(to_readers(slow_smtp)) >= 20, 40, "the rest of the issue")
    wait_until(lambda: schedule_runs(config)[-1][0] == "sent", 10, "the resumed run recorded")
    assert second.stop() == 0
    assert "was left part-sent: resuming it now" in second.output
    assert to_readers(slow_smtp) == readers(20)  # nobody missed, nobody twice
    assert query(config, "SELECT state FROM issues") == [("sent",)]


def test_every_feed_failing_alerts_the_admin_and_a_retry_sends(
    tmp_path: Path, smtp_server: SmtpServer, http_dir, daemons
) -> None:
    folder, base = http_dir
    due = due_ahead()
    config = make_project(
        tmp_path / "p",
        smtp_server,
        when=due.when,
        extra="retry_minutes = 0.05",
        source=f'url = "{base}/feed.xml"',
    )
    daemon = daemons(config)
    daemon.wait_for("next run:")
    fire(config, due)
    wait_until(lambda: any(r.recipients == [ADMIN] for r in smtp_server.received), 30, "the alert")
    (alert,) = [r.message for r in smtp_server.received if r.recipients == [ADMIN]]
    assert alert["Subject"].startswith("[This Week] send of issue ") and alert["Subject"].endswith(" failed")
    body = alert.get_content()
    assert "every source failed" in body and "retrying at" in body
    assert "(schedule): failed" in status(config)
    (folder / "feed.xml").write_text(current_feed(3), encoding="utf-8")  # the feed is back
    wait_until(lambda: len(to_readers(smtp_server)) == 4, 30, "the retry to send the issue")
    wait_until(lambda: schedule_runs(config)[-1][0] == "sent", 10, "the retry recorded")
    assert daemon.stop() == 0
    assert "send failed: every source failed" in daemon.output and f"alert sent to {ADMIN}" in daemon.output
    assert [o for o, _ in schedule_runs(config)][0] == "failed"
    assert to_readers(smtp_server) == readers(4)


def test_sigkill_mid_send_loses_nobody_at_the_next_start(
    tmp_path: Path, slow_smtp: SmtpServer, daemons
) -> None:
    slow_smtp.handler.delay = 0.3  # type: ignore[attr-defined]
    due = due_ahead()
    # On PostgreSQL the killed sender's claimed rows go to the next one when its lease runs out
    # (60 s by default): a short lease keeps the wait for them short.
    config = make_project(
        tmp_path / "p", slow_smtp, when=due.when, subscribers=12, delivery="lease_seconds = 2"
    )
    first = daemons(config)
    first.wait_for("next run:")
    fire(config, due)
    wait_until(lambda: len(to_readers(slow_smtp)) >= 3, 40, "the send to begin")
    first.kill()  # no chance to finish anything: the ledger and the run row stay as they were
    assert [o for o, _ in schedule_runs(config)] == ["running"]

    second = daemons(config)
    wait_until(lambda: len(set(to_readers(slow_smtp))) >= 12, 40, "the rest of the issue")
    wait_until(lambda: schedule_runs(config)[-1][0] == "sent", 10, "the resumed run recorded")
    assert second.stop() == 0
    received = to_readers(slow_smtp)
    assert sorted(set(received)) == readers(12)  # nobody missed
    # at most the messages in flight at the kill went twice (one per SMTP connection)
    assert len(received) - 12 <= 4, received


def test_deferred_recipients_get_it_from_a_follow_up_run(
    tmp_path: Path, smtp_server: SmtpServer, daemons
) -> None:
    refused: list[str] = []

    def once_451(envelope) -> str | None:
        rcpt = envelope.rcpt_tos[0]
        if rcpt == "reader01@example.org" and rcpt not in refused:
            refused.append(rcpt)
            return "451 4.3.0 try again later"
        return None

    smtp_server.handler.answer = once_451
    due = due_ahead()
    config = make_project(tmp_path / "p", smtp_server, when=due.when)
    daemon = daemons(config)
    daemon.wait_for("next run:")
    fire(config, due)
    wait_until(lambda: len(to_readers(smtp_server)) == 4, 40, "the deferred recipient too")
    wait_until(lambda: schedule_runs(config)[-1][0] == "sent", 10, "the follow-up recorded")
    assert daemon.stop() == 0
    assert refused == ["reader01@example.org"]
    assert to_readers(smtp_server) == readers(4)
    assert [o for o, _ in schedule_runs(config)] == ["partial", "sent"]


def test_a_due_run_the_store_advanced_but_nobody_ran_is_made_up(
    tmp_path: Path, smtp_server: SmtpServer, daemons
) -> None:
    # APScheduler moves the stored next run time before the job runs; a process that dies in
    # between leaves next week's time and no run. The runs table tells the next start.
    due = due_ahead()
    config = make_project(tmp_path / "p", smtp_server, when=due.when)
    first = daemons(config)
    first.wait_for("next run:")
    assert first.stop() == 0
    _set_next_run(config, due.at + timedelta(days=7))
    set_clock(config, due.at + timedelta(seconds=1))

    second = daemons(config)
    wait_until(lambda: len(to_readers(smtp_server)) == 4, 30, "the made-up run")
    wait_until(lambda: [o for o, _ in schedule_runs(config)] == ["sent"], 10, "the run recorded")
    assert second.stop() == 0
    assert "no run was recorded for" in second.output
    assert to_readers(smtp_server) == readers(4)


def test_a_time_that_passed_before_the_schedule_existed_is_not_sent(
    tmp_path: Path, smtp_server: SmtpServer, daemons
) -> None:
    # Installed at 10:00 with "09:00": the first run is the next one, also after a restart.
    hour_ago = datetime.now(ZONE) - timedelta(hours=1)
    config = make_project(tmp_path / "p", smtp_server, when=f"daily {hour_ago:%H:%M}")
    for _ in range(2):
        daemon = daemons(config)
        daemon.wait_for("next run:")
        time.sleep(1)
        assert daemon.stop() == 0
        assert "running it now" not in daemon.output
    assert smtp_server.received == [] and schedule_runs(config) == []
