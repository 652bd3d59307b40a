"""The issue's commands: collect, preview, send, status."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import click
from rich.table import Table

from newsletter import store
from newsletter.cli.common import as_of_option, console, err_console, moment, open_store, settings_from, warn
from newsletter.cli.progress import SendProgress
from newsletter.models import Issue, Item
from newsletter.pipeline import draft_issue, preview, send


def issue_table(issue: Issue) -> Table:
    table = Table(
        title=f"Issue {issue.period.key}: {issue.period.start:%Y-%m-%d %H:%M} to "
        f"{issue.period.end:%Y-%m-%d %H:%M %Z}",
        title_justify="left",
    )
    for column in ("", "title", "source", "date"):
        table.add_column(column, overflow="fold")

    def add(role: str, item: Item) -> None:
        when = f"{item.published:%Y-%m-%d}" if item.published else "-"
        title = ("[video] " if item.is_video else "") + item.title
        table.add_row(role, title, item.source, when)

    if issue.headline:
        add("headline", issue.headline)
    for n, item in enumerate(issue.cards, start=1):
        add(f"card {n}", item)
    for item in issue.links:
        add("link", item)
    return table


@click.command()
@as_of_option
@click.pass_context
def collect(ctx: click.Context, as_of: datetime | None) -> None:
    """Build (or refresh) the period's draft from the sources and print it."""
    settings = settings_from(ctx)
    engine = open_store(settings)
    issue, warnings = draft_issue(settings, engine, moment(settings, as_of))
    warn(warnings)
    if issue.is_empty:
        console.print(f"Nothing new since {issue.period.start:%Y-%m-%d %H:%M %Z}.")
        return
    console.print(issue_table(issue))


@click.command("preview")
@as_of_option
@click.option(
    "--out",
    "out",
    type=click.Path(file_okay=False, path_type=Path),
    default="preview",
    show_default=True,
    help="Folder for issue.html, issue.txt and issue.eml.",
)
@click.option("--open", "open_browser", is_flag=True, help="Open issue.html in the web browser.")
@click.pass_context
def preview_command(ctx: click.Context, as_of: datetime | None, out: Path, open_browser: bool) -> None:
    """Render the period's draft to html, txt and eml files, exactly as it will be sent."""
    settings = settings_from(ctx)
    engine = open_store(settings)
    result = preview(settings, engine, moment(settings, as_of), out)
    warn(result.warnings)
    if result.issue.is_empty:
        err_console.print("[yellow]note:[/] the draft is empty: nothing new in this period")
    console.print(f"subject: {result.rendered.subject}")
    console.print(f"html:    {result.html}  ({len(result.rendered.html.encode()) // 1024} KB)")
    console.print(f"text:    {result.text}")
    console.print(f"eml:     {result.eml}")
    if open_browser:
        click.launch(str(result.html.resolve()))


@click.command("send")
@as_of_option
@click.option(
    "--dry-run", is_flag=True, help="Do everything but talk to the mail server; say what would be sent."
)
@click.option("--retry-failed", is_flag=True, help="Try the addresses that failed in this period again.")
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
    ctx: click.Context, as_of: datetime | None, dry_run: bool, retry_failed: bool, wait: float
) -> None:
    """Collect if needed, render and deliver the period's issue; resumes an unfinished send."""
    settings = settings_from(ctx)
    engine = open_store(settings)
    with SendProgress(console, live=sys.stdout.isatty()) as progress:
        outcome = send(
            settings,
            engine,
            moment(settings, as_of),
            dry_run=dry_run,
            retry_failed=retry_failed,
            observer=progress.observe,
            max_wait=wait,
        )
    warn(outcome.warnings)
    console.print(outcome.message)
    if outcome.state == "paused":
        ctx.exit(1)


@click.command()
@click.option("--failed", is_flag=True, help="List every failed address with the server's reply.")
@click.pass_context
def status(ctx: click.Context, failed: bool) -> None:
    """Issues sent, counts per state, failures, failing sources and the last run."""
    settings = settings_from(ctx)
    engine = open_store(settings)
    table = Table(title="Issues", title_justify="left")
    for column in ("period", "state", "subject", "sent", "waiting", "failed", "skipped"):
        table.add_column(column)
    for row in store.list_issues(engine):
        c = store.ledger_counts(engine, row.id)
        table.add_row(
            row.period_key,
            row.state,
            row.subject or "-",
            str(c.get("sent", 0)),
            str(c.get("pending", 0) + c.get("deferred", 0)),
            str(c.get("failed", 0)),
            str(c.get("skipped", 0)),
        )
    console.print(table)
    counts = store.count_subscribers(engine)
    console.print("subscribers: " + (", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "none"))
    for feed in store.failing_feeds(engine):
        console.print(
            f"[yellow]source failing {feed['failures']} runs in a row:[/] {feed['source']}: "
            f"{feed['last_error']}"
        )
    run = store.last_run(engine)
    if run:
        console.print(
            f"last run: {run['started_at']:%Y-%m-%d %H:%M} ({run['trigger']}): {run['outcome']}"
            + (f": {run['message']}" if run["message"] else "")
        )
    if failed:
        rows = store.failed_rows(engine)
        if not rows:
            console.print("no failed addresses")
        for r in rows:
            console.print(f"{r['period_key']}  {r['email']}  {r['code']} {r['reply']}")


COMMANDS = [collect, preview_command, send_command, status]
