"""The editor's draft: `newsletter collect` builds it and shows it."""

from __future__ import annotations

from datetime import datetime

import click
from rich.markup import escape
from rich.table import Table

from newsletter.cli.common import as_of_option, console, moment, open_store, settings_from, warn
from newsletter.models import Issue, Item
from newsletter.pipeline import draft_issue


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
        title = escape(("[video] " if item.is_video else "") + item.title)
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


COMMANDS = [collect]
