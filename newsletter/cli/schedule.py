"""`newsletter schedule`: the weekly daemon in the foreground (systemd, a container, a terminal)."""

from __future__ import annotations

import logging
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType

import click
from sqlalchemy import Engine

from newsletter import preflight, store
from newsletter.cli.common import console, open_store, settings_from
from newsletter.config import Settings
from newsletter.schedule import WEEKLY_JOB, Daemon, FileClock, deadline_id, followup_id
from newsletter.store import preflights


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


def _editors_word(ctx: click.Context, period: str | None, action: str) -> None:
    settings = settings_from(ctx)
    engine = open_store(settings)
    if period is None:
        rows = [
            r for r in store.preflights.recent(engine, 5) if r.state in (preflights.PENDING, preflights.HELD)
        ]
        if not rows:
            raise click.ClickException(
                "no issue awaits the editors: `newsletter status` lists the preflights; name one, e.g. 2026-W49"
            )
        period = rows[0].period_key
    outcome = preflight.act(settings, engine, period, action, by="command", now=datetime.now(UTC))
    if not outcome.changed:
        raise click.ClickException(outcome.message)
    console.print(outcome.message, markup=False)
    if action == preflight.RELEASE:
        console.print(
            "a running `newsletter schedule` sends it; none running: `newsletter send` does", markup=False
        )


@click.command("hold")
@click.argument("period", required=False)
@click.pass_context
def hold_command(ctx: click.Context, period: str | None) -> None:
    """Hold the issue the preflight email announced (PERIOD such as 2026-W49): the daemon does not send it."""
    _editors_word(ctx, period, preflight.HOLD)


@click.command("release")
@click.argument("period", required=False)
@click.option("--now", "now_", is_flag=True, help="Send it at once, before its scheduled time.")
@click.pass_context
def release_command(ctx: click.Context, period: str | None, now_: bool) -> None:
    """Release a held issue (or approve one): it goes at its time, or at once if that time has passed."""
    _editors_word(ctx, period, preflight.SEND if now_ else preflight.RELEASE)


def scheduled_lines(settings: Settings, engine: Engine) -> list[str]:
    """What `status` says about the schedule, read from the job store, and the editors' holds."""
    jobs = store.runs.scheduled_jobs(engine)
    if not jobs:
        return ["next scheduled run: none (`newsletter schedule` has never run on this database)"]
    lines = []
    for row in store.preflights.recent(engine, 2):
        lines.append(_preflight_line(settings, row))
    for job_id, at in jobs:
        what = (
            "next scheduled run"
            if job_id == WEEKLY_JOB
            else f"approval deadline of {job_id.removeprefix(deadline_id(''))}"
            if job_id.startswith(deadline_id(""))
            else f"follow-up of {job_id.removeprefix(followup_id(''))}"
        )
        late = at is not None and at < datetime.now(UTC) - timedelta(minutes=2)
        lines.append(
            f"{what}: {_when(at.astimezone(settings.zone) if at else None)}"
            + (" (overdue: is `newsletter schedule` running?)" if late else "")
        )
    return lines


def _preflight_line(settings: Settings, row: preflights.Preflight) -> str:
    due = _when(row.due_at.astimezone(settings.zone))
    mailed = (
        f"emailed {_when(row.mailed_at.astimezone(settings.zone))}" if row.mailed_at else "not emailed yet"
    )
    by = f" by {row.changed_by}" if row.changed_by else ""
    if row.state == preflights.HELD:
        state = f"HELD{by} (`newsletter release {row.period_key}` sends it)"
    elif row.state == preflights.PENDING and settings.schedule.approval:
        state = f"awaiting approval (`newsletter release {row.period_key}`)"
    else:
        state = row.state + by
    return f"preflight of issue {row.period_key} (due {due}): {mailed}; {state}"


def _when(moment: datetime | None) -> str:
    return f"{moment:%a %Y-%m-%d %H:%M:%S %Z}" if moment else "none"


COMMANDS = [schedule_command, hold_command, release_command]
