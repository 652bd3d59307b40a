"""`newsletter send` and `newsletter status`: delivering the issue and what became of it."""

from __future__ import annotations

import signal
import sys
import threading
from datetime import datetime

import click
from rich.table import Table

from newsletter import store
from newsletter.cli.common import (
    as_of_option,
    console,
    err_console,
    failing_sources,
    moment,
    open_store,
    settings_from,
    warn,
)
from newsletter.cli.draft import print_sources
from newsletter.cli.progress import SendProgress
from newsletter.cli.schedule import scheduled_lines
from newsletter.models import DeliveryState, IssueState, RunOutcome
from newsletter.pipeline import send
from newsletter.report import figures


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
    settings = settings_from(ctx)
    engine = open_store(settings)
    stop, caught = threading.Event(), list[int]()

    def stop_after_the_message_in_flight(signum: int, _frame: object) -> None:
        if caught:  # a second Ctrl-C: stop now (the ledger still resumes it)
            raise KeyboardInterrupt
        caught.append(signum)
        stop.set()

    before = {
        sig: signal.signal(sig, stop_after_the_message_in_flight) for sig in (signal.SIGTERM, signal.SIGINT)
    }
    try:
        with SendProgress(console, live=sys.stdout.isatty()) as progress:
            outcome = send(
                settings,
                engine,
                moment(settings, as_of),
                dry_run=dry_run,
                retry_failed=retry_failed,
                observer=progress.observe,
                max_wait=wait,
                on_total=progress.set_total,
                exclusive=False,  # on PostgreSQL, join a send running on another machine
                anyway=anyway,
                stop=stop,
            )
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)
    warn(outcome.warnings)
    if progress.done:
        console.print(progress.summary())
    console.print(outcome.message, markup=False)  # data: may name a [section]
    if caught:
        name = signal.Signals(caught[0]).name
        err_console.print(
            f"stopped by {name} after the message in flight: {progress.counts['sent']} sent by this run; "
            "run `newsletter send` again to send the rest (nobody gets it twice)",
            highlight=False,
        )
        ctx.exit(128 + caught[0])
    if outcome.state == RunOutcome.PAUSED:
        ctx.exit(1)


@click.command()
@click.option("--failed", is_flag=True, help="List every failed address with the server's reply.")
@click.pass_context
def status(ctx: click.Context, failed: bool) -> None:
    """Issues sent, counts per state, failures, failing sources and the last run."""
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
