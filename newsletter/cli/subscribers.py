"""`newsletter subscribers ...`: the list."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import click

from newsletter import store
from newsletter.cli.common import Column, console, err_console, open_store, print_table, settings_from, warn
from newsletter.errors import SubscriberError
from newsletter.models import SubscriberStatus
from newsletter.subscribers import (
    add_subscriber,
    export_csv,
    read_csv,
    refuse_when_mirrored,
    remove_subscriber,
    sync,
)


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
    refuse_when_mirrored(settings, f"importing {file}")
    report = read_csv(file)
    warn(report.problems + report.notes)
    counts = sync(open_store(settings), report, remove_missing=remove_missing)
    console.print(", ".join(f"{n} {what}" for what, n in counts.items()))


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


LIST_COLUMNS = (  # on a narrow terminal: name and cause are cut, then since, name and cause left out
    Column("email"),
    Column("name", shrink=True, min_width=8, hide=2),
    Column("status"),
    Column("since", hide=3),
    Column("cause", shrink=True, hide=1),
)


@subscribers.command("list")
@click.option(
    "--status",
    type=click.Choice([s.value for s in SubscriberStatus]),
    help="Only subscribers with this status.",
)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=50,
    show_default=True,
    help="Show at most this many subscribers.",
)
@click.option(
    "--offset",
    type=click.IntRange(min=0),
    default=0,
    help="Skip this many first (--offset 50: the next page).",
)
@click.option("--all", "show_all", is_flag=True, help="Show every subscriber (after --offset), not a page.")
@click.pass_context
def list_command(ctx: click.Context, status: str | None, limit: int, offset: int, show_all: bool) -> None:
    """Show the subscribers, with their status and its cause, a page at a time, and how many there are.

    On a terminal, a table fitted to its width; piped or redirected, tab-separated lines with every
    value whole (`subscribers export` writes CSV).
    """
    engine = open_store(settings_from(ctx))
    counts = store.subscribers.count(engine)
    rows = (
        (row.email, row.name, row.status, f"{row.changed_at:%Y-%m-%d}", row.cause)
        for row in store.subscribers.page(engine, status, offset=offset, limit=None if show_all else limit)
    )
    shown = print_table(LIST_COLUMNS, rows)
    line = _count_line(counts, status, offset, shown, None if show_all else limit)
    (console if console.is_terminal else err_console).print(
        line, markup=False, highlight=False, soft_wrap=True
    )


def _count_line(
    counts: dict[str, int], status: str | None, offset: int, shown: int, limit: int | None
) -> str:
    """How many match (per status), and which of them were shown."""
    total = sum(counts.values())
    per_status = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    if status:
        matching = counts.get(status, 0)
        line = f"{matching} {status} of {total} subscriber(s)" + (f" ({per_status})" if total else "")
    else:
        matching = total
        line = f"{total} subscriber(s)" + (f": {per_status}" if total else "")
    if shown == 0:
        return line + (f"; none after the first {offset}" if offset and matching else "")
    if offset == 0 and shown >= matching:
        return line + "; all shown"
    line += f"; shown: {offset + 1}-{offset + shown}"
    if offset + shown < matching and limit is not None:
        line += f" (`--offset {offset + shown}` for the next {limit}, `--all` for every one)"
    return line


@subscribers.command()
@click.argument("email")
@click.option("--name", default="", help="The subscriber's name.")
@click.option("--resubscribe", is_flag=True, help="Re-activate an address that unsubscribed or bounced.")
@click.pass_context
def add(ctx: click.Context, email: str, name: str, resubscribe: bool) -> None:
    """Add EMAIL to the list."""
    settings = settings_from(ctx)
    refuse_when_mirrored(settings, f"adding {email}")
    what = add_subscriber(open_store(settings), email, name, resubscribe=resubscribe)
    if what == "reactivated" and resubscribe:
        store.journal.Journal(settings.journal_path).allow([email])
    console.print(f"{what} {email}")


@subscribers.command()
@click.argument("email")
@click.pass_context
def remove(ctx: click.Context, email: str) -> None:
    """Unsubscribe EMAIL; it stays on the suppression list, and an address not on the list joins it."""
    settings = settings_from(ctx)
    what = remove_subscriber(open_store(settings), email)
    store.journal.Journal(settings.journal_path).add([email.strip()])
    if what == "suppressed":
        console.print(f"{email} was not on the list; it is now on the suppression list, so no import adds it")
    else:
        console.print(f"{what} {email}")


@subscribers.command()
@click.argument("email")
@click.pass_context
def show(ctx: click.Context, email: str) -> None:
    """Everything stored about EMAIL: the list's row, how and when they came in, every delivery."""
    engine = open_store(settings_from(ctx))
    row = store.subscribers.get(engine, email)
    if row is None:
        erased = store.subscribers.is_forgotten(engine, email)
        console.print(
            f"{email}: "
            + ("erased on request; only a keyed hash keeps it off the list" if erased else "not on the list")
        )
        return
    lines = [
        ("email", row.email),
        ("name", row.name or "-"),
        ("fields", ", ".join(f"{k}={v}" for k, v in sorted(row.fields.items())) or "-"),
        ("status", f"{row.status} since {_when(row.changed_at)} ({row.cause})"),
        ("came in by", row.source),
        ("asked", _when(row.asked_at)),
        ("confirmed", _when(row.confirmed_at)),
    ]
    for label, value in lines:
        console.print(f"{label + ':':<12}{value}", markup=False, soft_wrap=True)
    for d in store.subscribers.deliveries_of(engine, email):
        reply = f" {d['code']} {d['reply']}" if d["code"] or d["reply"] else ""
        console.print(
            f"issue {d['period_key']}: {d['state']} after {d['attempts']} attempt(s){reply}",
            markup=False,
            soft_wrap=True,
        )
    for n in store.feedback.of_subscriber(engine, row.id):
        about = f"issue {n['period_key']}" if n["period_key"] else "no issue"
        words = f" {n['status']}" if n["status"] else ""
        console.print(
            f"{_when(n['received_at'])} {n['kind']}{words} ({about}, via {n['via']}): {n['diagnostic'] or '-'}",
            markup=False,
            soft_wrap=True,
        )


def _when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M %Z}" if moment else "-"


@subscribers.command()
@click.argument("email")
@click.pass_context
def restore(ctx: click.Context, email: str) -> None:
    """Undo a wrong bounce: EMAIL gets mail again (an unsubscribe or a complaint is the person's own, and stays)."""
    settings = settings_from(ctx)
    engine = open_store(settings)
    row = store.subscribers.get(engine, email)
    if row is None:
        raise SubscriberError(
            f"{email} is not on the list", hint="`newsletter subscribers add` adds an address"
        )
    if row.status != SubscriberStatus.BOUNCED:
        raise SubscriberError(
            f"{email} is {row.status} ({row.cause}), not bounced: restore undoes only a bounce",
            hint="only the person can come back after unsubscribing or complaining: through the signup form "
            "or the resubscribe link",
        )
    store.subscribers.set_status(
        engine, email, SubscriberStatus.ACTIVE, f"restored by the operator after: {row.cause}"
    )
    store.journal.Journal(settings.journal_path).allow([email])
    console.print(
        f"restored {email}: it gets the next issue (it had {row.cause})", markup=False, soft_wrap=True
    )


@subscribers.command()
@click.argument("email")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def forget(ctx: click.Context, email: str, yes: bool) -> None:
    """Erase EMAIL's data (name, fields, deliveries); keep a keyed hash so it is never added again."""
    settings = settings_from(ctx)
    engine = open_store(settings)
    if not yes:
        click.confirm(f"erase everything stored about {email}?", abort=True)
    erased = store.subscribers.forget(engine, email)
    store.journal.Journal(settings.journal_path).forget([email.strip()])
    console.print(
        f"erased {email}; a keyed hash keeps it off the list"
        if erased
        else f"nothing was stored about {email}; a keyed hash now keeps it off the list"
    )


COMMANDS = [subscribers]
