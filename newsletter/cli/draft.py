"""The editor's draft: `newsletter collect` builds it and shows it; `newsletter draft ...` changes it.

Items are named by their id (a few letters that never change) or their URL; numbers are positions
in the table, which change as items move (see ``newsletter.editor``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import click
from sqlalchemy import Engine

from newsletter import store
from newsletter.cli.common import (
    Column,
    Styled,
    as_of_option,
    console,
    moment,
    open_store,
    print_table,
    settings_from,
    warn,
)
from newsletter.collect import Collected, Verdict, collect_explained, period_for
from newsletter.config import Settings
from newsletter.editor import EditableDraft, Row, Unchanged, edited_text, emptied_note, load_draft, save_draft
from newsletter.models import Item
from newsletter.pipeline import draft_issue, tell_editors
from newsletter.sources import source_warnings
from newsletter.store.database import aware

# On a terminal too narrow for all: titles and sources are cut with "…", then the date and the
# source left out; piped, the table is tab-separated with every title whole and each item's link.
DRAFT_COLUMNS = (
    Column("#", justify="right"),
    Column("id"),
    Column("place"),
    Column("title", shrink=True, min_width=24),
    Column("source", shrink=True, min_width=8, hide=1),
    Column("date", hide=2),
    Column("link", terminal=False),
)


def print_draft(draft: EditableDraft) -> None:
    """The draft as the editor sees it: position, id, place, title, source and date of every item,
    with a note when it is empty."""
    period = draft.period
    note = emptied_note(draft.data, period.key)
    if note:
        console.print(note, markup=False, highlight=False, soft_wrap=True)
    elif not draft.data.entries():
        console.print(f"Nothing new since {period.start:%Y-%m-%d %H:%M %Z}.")
        return
    rows = (
        Styled(
            (
                str(row.number or ""),
                row.id,
                row.place,
                _title(row),
                row.item.source,
                _date(row.item),
                row.item.link,
            ),
            "dim" if row.role in ("extra", "dropped") else "",
        )
        for row in draft.rows()
    )
    title = f"Issue {period.key}: {period.start:%Y-%m-%d %H:%M} to {period.end:%Y-%m-%d %H:%M %Z}"
    print_table(DRAFT_COLUMNS, rows, title=title)


def _title(row: Row) -> str:
    return ("[video] " if row.item.is_video else "") + row.item.title


def _date(item: Item) -> str:
    return f"{item.published:%Y-%m-%d}" if item.published else "-"


def _where(row: Row) -> str:
    return row.place if row.role == "dropped" else f"#{row.number}, {row.place}"


EXPLAIN_COLUMNS = (
    Column(""),
    Column("id"),
    Column("title", shrink=True, min_width=24),
    Column("date", hide=1),
    Column("why", shrink=True, min_width=30),
    Column("link", terminal=False),
)
_PLACES = {
    "no room": "no room: over the cap ([issue] max_cards and max_links)",
    "dropped": "dropped by the editor (`newsletter draft restore` brings it back)",
}


def print_verdicts(settings: Settings, engine: Engine, found: Collected) -> None:
    """`collect --explain`: a table per source of every entry read, in or out, and why."""
    period = found.issue.period
    if not found.results:
        console.print(f"Issue {period.key} is being sent or was sent: its draft is frozen, nothing was read.")
        return
    rows = {r.key: r for r in load_draft(settings, engine, period.key, frozen_ok=True).rows()}
    console.print(
        f"Issue {period.key}: entries from {period.start:%Y-%m-%d %H:%M} to {period.end:%Y-%m-%d %H:%M %Z}",
        highlight=False,
    )
    for result in found.results:
        source = result.source
        where = source.url or source.path
        if result.error is not None:
            console.print(f"\n{source.name} ({where}): not read: {result.error}", markup=False)
            continue
        verdicts = [v for v in found.verdicts if v.source == source.name]
        # What is in, in the issue's order, then the rest as the source lists it.
        verdicts.sort(
            key=lambda v: rows[v.key].number or len(rows) if v.is_in and v.key in rows else len(rows)
        )
        lines = [_verdict_line(v, rows.get(v.key)) for v in verdicts]
        kept = sum(1 for line in lines if line.values[0] == "in")
        entries = f"{result.entries} entr{'y' if result.entries == 1 else 'ies'}"
        console.print()
        print_table(EXPLAIN_COLUMNS, lines, title=f"{source.name} ({where}): {entries}, {kept} in the issue")


def _verdict_line(verdict: Verdict, row: Row | None) -> Styled:
    date = f"{verdict.published:%Y-%m-%d}" if verdict.published else "-"
    why, ident = verdict.reason, ""
    if verdict.is_in and row is not None:
        why, ident = _PLACES.get(row.place, row.place), row.id
    verdict_word = "in" if verdict.is_in and (row is None or row.place not in _PLACES) else "out"
    return Styled(
        (verdict_word, ident or "-", verdict.title, date, why, verdict.link),
        "" if verdict_word == "in" else "dim",
    )


SOURCE_COLUMNS = (
    Column("source", shrink=True, min_width=12),
    Column("last read", hide=1),
    Column("entries", justify="right"),
    Column("new", justify="right"),
    Column("failing", justify="right"),
    Column("last error", shrink=True, min_width=20),
)


def print_sources(settings: Settings, engine: Engine) -> None:
    """`status`: every configured source, its last good read, its counts and its last error."""
    from newsletter.sources.base import source_id  # the feeds' stack, only when asked

    states = store.feeds.states(engine, [source_id(s) for s in settings.sources])
    rows = []
    for source in settings.sources:
        row = states.get(source_id(source), {})
        read = aware(row.get("last_success_at"))
        rows.append(
            (
                source.name,
                f"{read.astimezone(settings.zone):%Y-%m-%d %H:%M}" if read else "never",
                str(row.get("entries", 0)),
                str(row.get("new_items", 0)),
                str(row.get("failures", 0)),
                row.get("last_error") or "-",
            )
        )
    print_table(SOURCE_COLUMNS, rows, title="Sources")


@click.command()
@as_of_option
@click.option(
    "--explain",
    is_flag=True,
    help="Show every entry the sources hold, per source, and why it is in the issue or not.",
)
@click.pass_context
def collect(ctx: click.Context, as_of: datetime | None, explain: bool) -> None:
    """Build (or refresh) the period's draft from the sources and print it."""
    settings = settings_from(ctx)
    engine = open_store(settings)
    if explain:
        when = moment(settings, as_of)
        found = collect_explained(settings, engine, when)
        warn(source_warnings(found.results) + list(found.issue.notes) + tell_editors(settings, engine, when))
        print_verdicts(settings, engine, found)
        return
    issue, warnings = draft_issue(settings, engine, moment(settings, as_of))
    warn(warnings)
    print_draft(load_draft(settings, engine, issue.period.key, frozen_ok=True))


@click.group()
def draft() -> None:
    """Show and change the period's draft: pin the headline, drop, move, add, or edit it as a file.

    ITEM is an item's id (the table's id column: a few letters that stay the same whatever moves)
    or its URL. POSITION is a number in the table's # column. Changes are kept when
    `newsletter collect` refreshes the draft; `preview` and `send` use the changed draft.
    """


def _change(ctx: click.Context, as_of: datetime | None, action: Callable[[EditableDraft], str]) -> None:
    settings = settings_from(ctx)
    engine = open_store(settings)
    current = load_draft(settings, engine, period_for(moment(settings, as_of), settings.zone).key)
    message = action(current)
    save_draft(engine, current)
    if message:
        console.print(message, markup=False, highlight=False, soft_wrap=True)
    print_draft(current)


def _row(d: EditableDraft, ref: str) -> Row:
    """The row ITEM names: an id or a URL (a bare number is a position, refused with the id it holds)."""
    return d.resolve(ref, positions=False)


@draft.command("show")
@as_of_option
@click.pass_context
def show(ctx: click.Context, as_of: datetime | None) -> None:
    """Print the stored draft (without reading the sources again)."""
    settings = settings_from(ctx)
    engine = open_store(settings)
    key = period_for(moment(settings, as_of), settings.zone).key
    print_draft(load_draft(settings, engine, key, frozen_ok=True))


@draft.command("pin")
@click.argument("item")
@as_of_option
@click.pass_context
def pin(ctx: click.Context, item: str, as_of: datetime | None) -> None:
    """Make ITEM the headline."""

    def action(d: EditableDraft) -> str:
        key = _row(d, item).key
        d.pin(key)
        row = d.row(key)  # as the table printed next shows it
        return f"pinned {row.id} as the headline ({_where(row)}): {row.item.title}"

    _change(ctx, as_of, action)


@draft.command("drop")
@click.argument("items", nargs=-1, required=True)
@as_of_option
@click.pass_context
def drop(ctx: click.Context, items: tuple[str, ...], as_of: datetime | None) -> None:
    """Leave ITEMS out of the issue (they stay listed as dropped; `restore` brings one back)."""

    def action(d: EditableDraft) -> str:
        rows = [_row(d, ref) for ref in items]
        return "\n".join(f"dropped {row.id}: {d.drop(row.key).item.title}" for row in rows)

    _change(ctx, as_of, action)


@draft.command("restore")
@click.argument("item")
@as_of_option
@click.pass_context
def restore(ctx: click.Context, item: str, as_of: datetime | None) -> None:
    """Bring a dropped ITEM back."""

    def action(d: EditableDraft) -> str:
        key = _row(d, item).key
        d.restore(key)
        row = d.row(key)
        return f"restored {row.id} ({_where(row)}): {row.item.title}"

    _change(ctx, as_of, action)


@draft.command("move")
@click.argument("item")
@click.argument("position", type=click.IntRange(min=1))
@as_of_option
@click.pass_context
def move(ctx: click.Context, item: str, position: int, as_of: datetime | None) -> None:
    """Put ITEM at POSITION in the table (1 is the headline; a link's place makes it a further link)."""

    def action(d: EditableDraft) -> str:
        key = _row(d, item).key
        d.move(key, position)
        row = d.row(key)
        last = "" if row.number == position else ", the last place"
        return f"moved {row.id} to #{row.number}{last} ({row.place}): {row.item.title}"

    _change(ctx, as_of, action)


@draft.command("add")
@click.argument("url")
@click.option("--title", default="", help="The story's title (required).")
@click.option("--summary", default="", help="A sentence or two shown under the title.")
@click.option("--image", default="", help="An http(s) image URL.")
@click.option("--video", is_flag=True, help='Show it as a video ("Watch Video").')
@click.option(
    "--position",
    type=click.IntRange(min=1),
    default=None,
    help="Where in the table (a number of its # column; default: after the cards).",
)
@click.option("--link", "as_link", is_flag=True, help="Add it to the further links instead of the cards.")
@as_of_option
@click.pass_context
def add(
    ctx: click.Context,
    url: str,
    title: str,
    summary: str,
    image: str,
    video: bool,
    position: int | None,
    as_link: bool,
    as_of: datetime | None,
) -> None:
    """Add a story that is in no feed: URL with --title (and optionally --summary, --image, --video)."""
    item = Item(title=title, link=url, summary=summary, image=image, is_video=video, source="editor")

    def action(d: EditableDraft) -> str:
        row = d.row(d.add(item, position=position, as_link=as_link).key)  # with its id and place
        return f"added {row.id} ({_where(row)}): {row.item.title}"

    _change(ctx, as_of, action)


@draft.command("reset")
@as_of_option
@click.pass_context
def reset(ctx: click.Context, as_of: datetime | None) -> None:
    """Forget every change the editor made to this period's draft."""

    def action(d: EditableDraft) -> str:
        d.reset()
        return "the editor's changes are gone; the draft is as collected"

    _change(ctx, as_of, action)


@draft.command("edit")
@click.option(
    "--export",
    "export_to",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the draft to this TOML file and stop.",
)
@click.option(
    "--import",
    "import_from",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Read the draft back from this TOML file.",
)
@as_of_option
@click.pass_context
def edit(
    ctx: click.Context, export_to: Path | None, import_from: Path | None, as_of: datetime | None
) -> None:
    """Edit the draft as a TOML file in $EDITOR (or --export it, change it, and --import it).

    An empty file, or one that is not UTF-8 text, changes nothing. To drop every item, set each
    role to "drop" (or delete the [[items]] blocks and keep the comments).
    """

    def action(d: EditableDraft) -> str:
        if export_to is not None:
            export_to.write_text(d.to_toml(), encoding="utf-8")
            return f"wrote {export_to}; change it, then run `newsletter draft edit --import {export_to}`"
        if import_from is not None:
            where, data = str(import_from), import_from.read_bytes()
        else:
            original = d.to_toml().encode("utf-8")
            edited = click.edit(original, extension=".toml")
            if edited is None or edited.rstrip(b"\n") == original.rstrip(b"\n"):
                return "no change: the file was not changed"
            where, data = "the edited draft", edited
        try:
            text = edited_text(data, where)
        except Unchanged as why:
            hint = "; save it as UTF-8 and edit again" if "UTF-8" in str(why) else ""
            return f"no change: {why}, so the draft is as it was{hint}"
        d.apply_toml(text, where)  # one that drops every item is taken as meant: the table's note says so
        return f"read {where}" if import_from is not None else ""

    _change(ctx, as_of, action)


COMMANDS = [collect, draft]
