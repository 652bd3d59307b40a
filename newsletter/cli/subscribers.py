"""`newsletter subscribers ...`: the list."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.table import Table

from newsletter import store
from newsletter.cli.common import console, err_console, open_store, settings_from, warn
from newsletter.config import Settings
from newsletter.models import SubscriberStatus
from newsletter.subscribers import add_subscriber, export_csv, read_csv, remove_subscriber, sync


@click.group()
def subscribers() -> None:
    """Import, export, list, add, remove and check subscribers."""


@subscribers.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--remove-missing", is_flag=True, help="Stop mail to active subscribers who are not in FILE.")
@click.pass_context
def import_command(ctx: click.Context, file: Path, remove_missing: bool) -> None:
    """Add the subscribers in FILE (ours, Mailchimp's or listmonk's CSV); unsubscribed stay unsubscribed."""
    settings = settings_from(ctx)
    report = read_csv(file)
    warn(report.problems + report.notes)
    counts = sync(open_store(settings), report, remove_missing=remove_missing)
    console.print(", ".join(f"{n} {what}" for what, n in counts.items()))
    _warn_if_synced(settings)


def _warn_if_synced(settings: Settings) -> None:
    if settings.subscribers.csv and settings.subscribers.sync:
        warn(
            [
                f"the list is synced from {settings.path(settings.subscribers.csv)} at every send: "
                "addresses not in that file stop receiving mail, so add them to it as well "
                "(or set [subscribers] sync = false)"
            ]
        )


@subscribers.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def check(file: Path) -> None:
    """Validate FILE without importing it; exits 1 when a row has a problem."""
    report = read_csv(file)
    for line in report.problems:
        err_console.print(f"[red]problem:[/] {line}")
    for line in report.notes:
        err_console.print(f"note: {line}")
    console.print(f"{len(report.subscribers)} good row(s), {len(report.problems)} problem(s)")
    if report.suppressed:
        console.print(
            f"{len(report.suppressed)} row(s) marked unsubscribed or bounced: they join the suppression list"
        )
    if report.problems:
        sys.exit(1)


@subscribers.command("export")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True), default="-")
@click.option(
    "--status",
    type=click.Choice([s.value for s in SubscriberStatus]),
    help="Only subscribers with this status.",
)
@click.pass_context
def export_command(ctx: click.Context, file: str, status: str | None) -> None:
    """Write the list as CSV to FILE (default: standard output)."""
    engine = open_store(settings_from(ctx))
    with click.open_file(file, "w", encoding="utf-8", lazy=False) as out:
        n = export_csv(engine, out, status=status)
    if file != "-":
        console.print(f"wrote {n} subscriber(s) to {file}")


@subscribers.command("list")
@click.option(
    "--status",
    type=click.Choice([s.value for s in SubscriberStatus]),
    help="Only subscribers with this status.",
)
@click.pass_context
def list_command(ctx: click.Context, status: str | None) -> None:
    """Show the subscribers, with their status and its cause."""
    engine = open_store(settings_from(ctx))
    table = Table()
    for column in ("email", "name", "status", "since", "cause"):
        table.add_column(column, overflow="fold")
    for row in store.subscribers.iterate(engine, status=status):
        table.add_row(row.email, row.name, row.status, f"{row.changed_at:%Y-%m-%d}", row.cause)
    console.print(table)


@subscribers.command()
@click.argument("email")
@click.option("--name", default="", help="The subscriber's name.")
@click.option("--resubscribe", is_flag=True, help="Re-activate an address that unsubscribed or bounced.")
@click.pass_context
def add(ctx: click.Context, email: str, name: str, resubscribe: bool) -> None:
    """Add EMAIL to the list."""
    settings = settings_from(ctx)
    what = add_subscriber(open_store(settings), email, name, resubscribe=resubscribe)
    console.print(f"{what} {email}")
    _warn_if_synced(settings)


@subscribers.command()
@click.argument("email")
@click.pass_context
def remove(ctx: click.Context, email: str) -> None:
    """Unsubscribe EMAIL; it stays on the suppression list, and an address not on the list joins it."""
    what = remove_subscriber(open_store(settings_from(ctx)), email)
    if what == "suppressed":
        console.print(f"{email} was not on the list; it is now on the suppression list, so no import adds it")
    else:
        console.print(f"{what} {email}")


COMMANDS = [subscribers]
