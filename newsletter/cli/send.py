"""`newsletter send` and `newsletter status`: delivering the issue and what became of it.

Over SMTP, `send` prepares the issue (collect, render, readiness, enqueue) with the whole stack
loaded, then replaces itself with a lean interpreter that delivers it (``handed_off``, run by
``os.execv``: the same process, so signals, the exit code and the lines printed are as before;
see newsletter/deliver/handoff.py). This module's own imports are therefore only what that
delivery needs; everything else is imported by the command that uses it.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from datetime import datetime

import click

from newsletter.cli.common import as_of_option, console, err_console, print_error, warn
from newsletter.cli.progress import SendProgress
from newsletter.deliver import DeliverySummary
from newsletter.deliver.handoff import DeliveryJob, write_job
from newsletter.models import DeliveryState, IssueState, RunOutcome


@click.command("send")
@as_of_option
@click.option(
    "--dry-run", is_flag=True, help="Do everything but talk to the mail server; say what would be sent."
)
@click.option("--retry-failed", is_flag=True, help="Try the addresses that failed in this period again.")
@click.option("--anyway", is_flag=True, help="Send even when a readiness check (`newsletter check`) fails.")
@click.option(
    "--wait",
    "wait",
    type=float,
    default=0.0,
    show_default=True,
    help="Seconds to wait for deferred messages' retries before returning.",
)
@click.pass_context
def send_command(
    ctx: click.Context, as_of: datetime | None, dry_run: bool, retry_failed: bool, wait: float, anyway: bool
) -> None:
    """Collect if needed, render and deliver the period's issue; resumes an unfinished send.

    On PostgreSQL, run it on several machines at once to share the sending.
    """
    from newsletter.cli.common import moment, open_store, settings_from
    from newsletter.config import config_path
    from newsletter.pipeline import send

    settings = settings_from(ctx)
    engine = open_store(settings)
    stop, caught = threading.Event(), list[int]()

    def stop_after_the_message_in_flight(signum: int, _frame: object) -> None:
        if caught:  # a second Ctrl-C: stop now (the ledger still resumes it)
            raise KeyboardInterrupt
        caught.append(signum)
        stop.set()

    def hand_off(job: DeliveryJob) -> DeliverySummary:
        """Deliver in a lean image of this process: it never returns (os.execv)."""
        from newsletter.store.database import dispose_all

        config = str(config_path(ctx.find_root().obj["config"]).resolve())
        dispose_all()  # this image's connections end here (the send lock's file closes at exec)
        # Blocked until the new image has its handlers (the mask survives exec): none is lost.
        signal.pthread_sigmask(signal.SIG_BLOCK, _STOPPING)
        job.stopped_by = caught[0] if caught else 0
        fd = write_job(job, config)
        sys.stdout.flush()
        sys.stderr.flush()
        try:
            os.execv(sys.executable, [sys.executable, "-c", _HANDED_OFF, str(fd)])
        finally:  # only when exec failed
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOPPING)

    # Forked workers share as little as possible; an embedded interpreter has no executable to exec.
    lean = settings.delivery.transport == "smtp" and bool(sys.executable)
    before = {
        sig: signal.signal(sig, stop_after_the_message_in_flight) for sig in (signal.SIGTERM, signal.SIGINT)
    }
    try:
        # Handing off, this image shows no progress: an exec would leave its bar half drawn.
        with SendProgress(console, live=sys.stdout.isatty() and not lean) as progress:
            outcome = send(
                settings,
                engine,
                moment(settings, as_of),
                dry_run=dry_run,
                retry_failed=retry_failed,
                observer=progress.observe,
                max_wait=wait,
                on_total=None if lean else progress.set_total,
                exclusive=False,  # on PostgreSQL, join a send running on another machine
                anyway=anyway,
                stop=stop,
                deliver_with=hand_off if lean else None,
            )
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)
    ctx.exit(_report(progress, outcome.warnings, outcome.message, outcome.state, caught))


_HANDED_OFF = "from newsletter.cli.send import handed_off; handed_off()"
_STOPPING = {signal.SIGTERM, signal.SIGINT}


def _report(
    progress: SendProgress, warnings: list[str], message: str, state: RunOutcome, caught: list[int]
) -> int:
    """Print how the send went; return the exit code."""
    warn(warnings)
    if progress.done:
        console.print(progress.summary())
    console.print(message, markup=False)  # data: may name a [section]
    if caught:
        name = signal.Signals(caught[0]).name
        err_console.print(
            f"stopped by {name} after the message in flight: {progress.counts['sent']} sent by this run; "
            "run `newsletter send` again to send the rest (nobody gets it twice)",
            highlight=False,
        )
        return 128 + caught[0]
    return 1 if state == RunOutcome.PAUSED else 0


def handed_off() -> None:
    """The lean image `send` becomes to deliver: argv[1] is the descriptor of its DeliveryJob."""
    stop, caught = threading.Event(), list[int]()

    def stop_after_the_message_in_flight(signum: int, _frame: object) -> None:
        if caught:
            raise KeyboardInterrupt
        caught.append(signum)
        stop.set()

    for sig in _STOPPING:
        signal.signal(sig, stop_after_the_message_in_flight)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOPPING)  # blocked by the image that handed off
    from newsletter import store
    from newsletter.config import load_settings
    from newsletter.deliver import outcome_message, outcome_state
    from newsletter.deliver.handoff import deliver_job, read_job
    from newsletter.errors import NewsletterError

    job, config = read_job(int(sys.argv[1]))
    if job.stopped_by:
        caught.append(job.stopped_by)
        stop.set()
    progress = SendProgress(console, live=sys.stdout.isatty())
    settings = None
    try:
        settings = load_settings(config)
        engine = store.open_engine(settings.database_url, history=settings.history_path)
        with progress:
            summary = deliver_job(
                settings, engine, job, observer=progress.observe, stop=stop, on_total=progress.set_total
            )
    except KeyboardInterrupt:  # a second Ctrl-C: stop now (the ledger resumes it), as click says it
        err_console.print("Aborted!", markup=False)
        raise SystemExit(1) from None
    except Exception as exc:
        from sqlalchemy.exc import SQLAlchemyError

        from newsletter.store.database import explain

        if isinstance(exc, SQLAlchemyError):
            url = settings.database_url if settings is not None else "(the configured database)"
            exc = explain(exc, url)
        if not isinstance(exc, NewsletterError):
            raise
        print_error(exc)
        raise SystemExit(1) from None
    finally:
        store.database.dispose_all()
    message = outcome_message(job.period_key, summary, job.route)
    raise SystemExit(_report(progress, job.warnings, message, outcome_state(summary), caught))


@click.command()
@click.option("--failed", is_flag=True, help="List every failed address with the server's reply.")
@click.pass_context
def status(ctx: click.Context, failed: bool) -> None:
    """Issues sent, counts per state, failures, failing sources and the last run."""
    from rich.table import Table

    from newsletter import store
    from newsletter.cli.common import console, failing_sources, open_store, settings_from
    from newsletter.cli.draft import print_sources
    from newsletter.cli.schedule import scheduled_lines
    from newsletter.report import figures

    settings = settings_from(ctx)
    engine = open_store(settings)
    table = Table(title="Issues", title_justify="left")
    for column in ("period", "state", "subject", *DeliveryState):
        table.add_column(column)
    notes = []
    live = store.ledger.live_senders(engine, within=settings.delivery.lease_seconds)
    for row in store.issues.all_issues(engine):
        c = store.ledger.counts(engine, row.id)
        table.add_row(
            row.period_key,
            row.state,
            row.subject or "-",
            *(str(c.get(state, 0)) for state in DeliveryState),
        )
        if live.get(row.id):
            notes.append(f"issue {row.period_key}: {live[row.id]} sender(s) delivering it now")
        if row.pause_reason and row.state == IssueState.SENDING:
            notes.append(f"issue {row.period_key}: {row.pause_reason} (`newsletter send` resumes it)")
        if row.rolled_over and row.state == IssueState.DRAFT:
            notes.append(f"issue {row.period_key} rolled over: {row.rolled_over}")
    console.print(table)
    for note in notes:
        console.print(note, markup=False)
    counts = store.subscribers.count(engine)
    console.print("subscribers: " + (", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "none"))
    if settings.sources:
        print_sources(settings, engine)
    for feed in failing_sources(settings, engine):
        console.print(
            f"[yellow]source failing {feed['failures']} runs in a row:[/] {feed['source']}: "
            f"{feed['last_error']}"
        )
    sent = figures(engine)
    if sent:
        console.print(sent[0].line(), markup=False, soft_wrap=True)
        for line in sent[0].warnings:
            console.print(f"[yellow]warning:[/] {line}")
    run = store.runs.last(engine)
    if run:
        console.print(
            f"last run: {run['started_at']:%Y-%m-%d %H:%M} ({run['trigger']}): {run['outcome']}"
            + (f": {run['message']}" if run["message"] else "")
        )
    for line in scheduled_lines(settings, engine):
        console.print(line)
    if failed:
        rows = store.ledger.failed_rows(engine)
        if not rows:
            console.print("no failed addresses")
        for r in rows:
            console.print(
                f"{r['period_key']}  {r['email']}  {r['code']} {r['reply']}", markup=False, soft_wrap=True
            )


COMMANDS = [send_command, status]
