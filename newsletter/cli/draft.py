"""The editor's draft: `newsletter collect` builds it and shows it; `newsletter draft ...` changes it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from newsletter.cli.common import as_of_option, console, moment, open_store, settings_from, warn
from newsletter.collect import period_for
from newsletter.editor import EditableDraft, Row, load_draft, save_draft
from newsletter.models import Item
from newsletter.pipeline import draft_issue

_ROLE_NAMES = {"extra": "(no room)", "dropped": "dropped"}


def draft_table(draft: EditableDraft) -> Table:
    """The draft as the editor sees it: number, place, title, source and date of every item."""
    period = draft.period
    table = Table(
        title=f"Issue {period.key}: {period.start:%Y-%m-%d %H:%M} to {period.end:%Y-%m-%d %H:%M %Z}",
        title_justify="left",
    )
    for column, justify in (
        ("#", "right"),
        ("place", "left"),
        ("title", "left"),
        ("source", "left"),
        ("date", "left"),
    ):
        table.add_column(column, justify=justify, overflow="fold")  # type: ignore[arg-type]
    cards = 0
    for row in draft.rows():
        if row.role == "card":
            cards += 1
        place = f"card {cards}" if row.role == "card" else _ROLE_NAMES.get(row.role, row.role)
        style = "dim" if row.role in _ROLE_NAMES else None
        table.add_row(str(row.number), place, _title(row), row.item.source, _date(row.item), style=style)
    return table


def _title(row: Row) -> str:
    return escape(("[video] " if row.item.is_video else "") + row.item.title)


def _date(item: Item) -> str:
    return f"{item.published:%Y-%m-%d}" if item.published else "-"


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
    console.print(draft_table(load_draft(settings, engine, issue.period.key, frozen_ok=True)))


@click.group()
def draft() -> None:
    """Show and change the period's draft: pin the headline, drop, move, add, or edit it as a file.

    ITEM is a number from the draft's table or an item's URL. Changes are kept when
    `newsletter collect` refreshes the draft; `preview` and `send` use the changed draft.
    """


def _change(ctx: click.Context, as_of: datetime | None, action: Callable[[EditableDraft], str]) -> None:
    settings = settings_from(ctx)
    engine = open_store(settings)
    current = load_draft(settings, engine, period_for(moment(settings, as_of), settings.zone).key)
    message = action(current)
    save_draft(engine, current)
    if message:
        console.print(message)
    console.print(draft_table(current))


@draft.command("show")
@as_of_option
@click.pass_context
def show(ctx: click.Context, as_of: datetime | None) -> None:
    """Print the stored draft (without reading the sources again)."""
    settings = settings_from(ctx)
    engine = open_store(settings)
    key = period_for(moment(settings, as_of), settings.zone).key
    console.print(draft_table(load_draft(settings, engine, key, frozen_ok=True)))


@draft.command("pin")
@click.argument("item")
@as_of_option
@click.pass_context
def pin(ctx: click.Context, item: str, as_of: datetime | None) -> None:
    """Make ITEM the headline."""
    _change(ctx, as_of, lambda d: f"headline: {d.pin(item).item.title}")


@draft.command("drop")
@click.argument("items", nargs=-1, required=True)
@as_of_option
@click.pass_context
def drop(ctx: click.Context, items: tuple[str, ...], as_of: datetime | None) -> None:
    """Leave ITEMS out of the issue (they stay listed as dropped; `restore` brings one back)."""

    def action(d: EditableDraft) -> str:
        rows = [d.resolve(ref) for ref in items]  # numbers refer to the table before any change
        return "\n".join(f"dropped: {d.drop(row.key).item.title}" for row in rows)

    _change(ctx, as_of, action)


@draft.command("restore")
@click.argument("item")
@as_of_option
@click.pass_context
def restore(ctx: click.Context, item: str, as_of: datetime | None) -> None:
    """Bring a dropped ITEM back."""
    _change(ctx, as_of, lambda d: f"restored: {d.restore(item).item.title}")


@draft.command("move")
@click.argument("item")
@click.argument("position", type=click.IntRange(min=1))
@as_of_option
@click.pass_context
def move(ctx: click.Context, item: str, position: int, as_of: datetime | None) -> None:
    """Put ITEM at POSITION in the table (1 is the headline; a link's place makes it a further link)."""
    _change(ctx, as_of, lambda d: f"moved to {position}: {d.move(item, position).item.title}")


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
    help="Where in the table (default: after the cards).",
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
    _change(ctx, as_of, lambda d: f"added: {d.add(item, position=position, as_link=as_link).item.title}")


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
    """Edit the draft as a TOML file in $EDITOR (or --export it, change it, and --import it)."""

    def action(d: EditableDraft) -> str:
        if export_to is not None:
            export_to.write_text(d.to_toml(), encoding="utf-8")
            return f"wrote {export_to}; change it, then run `newsletter draft edit --import {export_to}`"
        if import_from is not None:
            d.apply_toml(import_from.read_text(encoding="utf-8"), str(import_from))
            return f"read {import_from}"
        text = click.edit(d.to_toml(), extension=".toml")
        if text is None:
            return "no change"
        d.apply_toml(text, "the edited draft")
        return ""

    _change(ctx, as_of, action)


COMMANDS = [collect, draft]
