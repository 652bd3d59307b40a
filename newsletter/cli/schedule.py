"""`newsletter schedule`: the weekly daemon in the foreground (systemd, a container, a terminal)."""

from __future__ import annotations

import logging
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType

import click
from sqlalchemy import Engine

from newsletter import store
from newsletter.cli.common import console, open_store, settings_from
from newsletter.config import Settings
from newsletter.schedule import WEEKLY_JOB, Daemon, FileClock, followup_id


@click.command("schedule")
@click.option(
    "--clock",
    "clock_file",
    type=click.Path(dir_okay=False, path_type=Path),
    hidden=True,
    help="Read the time as the system clock plus the seconds written in this file (tests only).",
)
@click.pass_context
def schedule_command(ctx: click.Context, clock_file: Path | None) -> None:
    """Run in the foreground and send each week's issue at [schedule] when; stop with SIGTERM or Ctrl-C.

    \b
    [schedule] when takes day names and a 24-hour local time in [newsletter] timezone:
      when = "fri 09:00"          every Friday at 09:00
      when = "mon,thu 07:30"      Mondays and Thursdays
      when = "mon-fri 18:00"      weekdays
    A run missed while the daemon was down happens at start if within grace_hours.
    `newsletter status` shows the next run.
    """
    settings = settings_from(ctx)
    engine = open_store(settings)
    # A daemon's log is its record: show what each run did even without -v.
    logging.getLogger("newsletter").setLevel(min(logging.INFO, logging.getLogger().level or logging.INFO))
    daemon = Daemon(settings, engine, clock=FileClock(clock_file) if clock_file else None)

    def stop(signum: int, _frame: FrameType | None) -> None:
        console.print(f"{signal.Signals(signum).name}: finishing the message in flight, then stopping")
        daemon.request_stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    report = daemon.start()
    for note in report.notes:
        console.print(note)
    console.print(
        f"schedule: {settings.schedule.when} ({settings.newsletter.timezone}); next run: {_when(report.next_run)}"
    )
    try:
        daemon.wait()
    finally:
        daemon.shutdown()
    console.print("stopped")


def scheduled_lines(settings: Settings, engine: Engine) -> list[str]:
    """What `status` says about the schedule, read from the job store."""
    jobs = store.runs.scheduled_jobs(engine)
    if not jobs:
        return ["next scheduled run: none (`newsletter schedule` has never run on this database)"]
    lines = []
    for job_id, at in jobs:
        what = (
            "next scheduled run"
            if job_id == WEEKLY_JOB
            else f"follow-up of {job_id.removeprefix(followup_id(''))}"
        )
        late = at is not None and at < datetime.now(UTC) - timedelta(minutes=2)
        lines.append(
            f"{what}: {_when(at.astimezone(settings.zone) if at else None)}"
            + (" (overdue: is `newsletter schedule` running?)" if late else "")
        )
    return lines


def _when(moment: datetime | None) -> str:
    return f"{moment:%a %Y-%m-%d %H:%M:%S %Z}" if moment else "none"


COMMANDS = [schedule_command]
