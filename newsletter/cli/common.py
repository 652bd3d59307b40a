"""What the commands share: the consoles, loading settings and the database, parsing --as-of."""

from __future__ import annotations

from datetime import date, datetime

import click
from rich.console import Console
from rich.markup import escape
from sqlalchemy import Engine

from newsletter import store
from newsletter.collect import as_of_moment
from newsletter.config import Settings, load_settings

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


def settings_from(ctx: click.Context) -> Settings:
    root = ctx.find_root()
    settings = load_settings(root.obj["config"])
    root.obj["settings"] = settings  # for messages about the database (cli/__init__.py)
    return settings


def open_store(settings: Settings) -> Engine:
    return store.open_engine(settings.database_url, history=settings.history_path)


def as_of_option(func):  # type: ignore[no-untyped-def]
    return click.option(
        "--as-of",
        "as_of",
        type=click.DateTime(formats=["%Y-%m-%d"]),
        default=None,
        help="Build the period that ends on this date (YYYY-MM-DD); default: now.",
    )(func)


def moment(settings: Settings, as_of: datetime | None) -> datetime:
    day: date | None = as_of.date() if as_of else None
    return as_of_moment(day, settings.zone)


def warn(lines: list[str]) -> None:
    for line in lines:
        # The text is data (it may name a [section] of the config): never read as markup.
        err_console.print(f"[yellow]warning:[/] {escape(line)}", highlight=False)
