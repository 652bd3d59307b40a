"""What the commands share: the consoles, loading settings and the database, parsing --as-of, and
printing tables (``print_table``) that stay readable in 80 columns and when piped."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from itertools import islice
from typing import Any, Literal

import click
from rich.cells import cell_len, set_cell_size
from rich.console import Console
from rich.markup import escape
from sqlalchemy import Engine

from newsletter import store
from newsletter.config import Settings, load_settings
from newsletter.errors import NewsletterError

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
    # Imported here: collect loads the feeds' stack (httpx, feedparser), which `send`'s lean
    # delivery image, importing this module, must not carry.
    from newsletter.collect import as_of_moment

    day: date | None = as_of.date() if as_of else None
    return as_of_moment(day, settings.zone)


def print_error(exc: NewsletterError) -> None:
    """An error as every command shows it: one line, and its hint."""
    err_console.print(f"[bold red]error:[/] {escape(exc.message)}", highlight=False, markup=True)
    if exc.hint:
        err_console.print(f"[yellow]hint:[/] {escape(exc.hint)}", highlight=False)


def warn(lines: list[str]) -> None:
    for line in lines:
        # The text is data (it may name a [section] of the config): never read as markup.
        err_console.print(f"[yellow]warning:[/] {escape(line)}", highlight=False)


def failing_sources(settings: Settings, engine: Engine, at_least: int = 2) -> list[dict[str, Any]]:
    """The configured sources that failed at least ``at_least`` runs in a row, for `status`: each the
    stored row (source, failures, last_error, ...) and its ``name`` from the config. A source taken
    out of the config is not listed, however often it failed before."""
    from newsletter.sources.base import source_id  # the feeds' stack, only when asked

    names = {source_id(s): s.name for s in settings.sources}
    return [
        {**row, "name": names[row["source"]]} for row in store.feeds.failing(engine, at_least, sources=names)
    ]


# --- tables ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Column:
    """A column of ``print_table``.

    ``shrink``: free text (a title, a name, a cause) that may be cut short, ending in "…", down to
    ``min_width``, to fit a terminal. ``hide``: on a terminal too narrow for every column even so,
    the columns with a ``hide`` rank are left out, the highest rank first. Other columns (addresses,
    URLs, ids, dates) are never cut while the terminal can hold them; nothing ever wraps.
    ``terminal=False``: a column only for the piped output (a long URL that the terminal's table
    has no room for). Piped, every column and every value is printed whole.
    """

    header: str
    justify: Literal["left", "right"] = "left"
    shrink: bool = False
    min_width: int = 12
    hide: int = 0
    terminal: bool = True


@dataclass(frozen=True, slots=True)
class Styled:
    """A row of ``print_table`` with a rich style for the terminal (e.g. "dim")."""

    values: Sequence[str]
    style: str = ""


TableRow = Sequence[str] | Styled
_GAP = 3  # between two columns on a terminal: padding, the (blank) rule, padding


def print_table(
    columns: Sequence[Column],
    rows: Iterable[TableRow],
    *,
    title: str = "",
    out: Console | None = None,
    batch: int = 1000,
) -> int:
    """Print rows under ``columns``, streamed (``rows`` may be a generator of any length); return how
    many were printed. Values are data: never read as rich markup.

    On a terminal: aligned columns fitted to its width under a bold header, no box (see ``Column``
    for what gives way when it is narrow). Rows are laid out ``batch`` at a time, so a long list is
    never held whole; the first batch sets the columns, a later one may only widen an uncut column.
    Otherwise (a pipe, a file): tab-separated lines, a header line first, each value whole on its
    line (tabs and line breaks in it become spaces), for grep, cut and spreadsheets; the title, if
    any, goes to standard error, so that standard output is only the table.
    """
    out = out or console
    if not out.is_terminal:
        return _print_tsv(columns, rows, title, out)
    if title:
        out.print(title, markup=False, highlight=False, overflow="ellipsis", no_wrap=True)
    count = 0
    widths: list[int | None] | None = None
    for chunk in _batches(iter(rows), batch):
        widths = _fit(columns, chunk, widths, _room(out))
        if count == 0:
            header = _line(columns, [c.header for c in columns], widths)
            shown = [w for w in widths if w is not None]
            out.print(header, style="bold", markup=False, highlight=False, soft_wrap=True)
            out.print("─" * (sum(shown) + _GAP * (len(shown) - 1)), soft_wrap=True)
        plain: list[str] = []  # unstyled lines go straight to the terminal: rich would only slow them
        for row in chunk:
            line = _line(columns, _values(row), widths)
            if isinstance(row, Styled) and row.style:
                _write(out, plain)
                out.print(line, style=row.style, markup=False, highlight=False, soft_wrap=True)
            else:
                plain.append(line)
        _write(out, plain)
        count += len(chunk)
    if count == 0:
        out.print(
            "   ".join(c.header for c in columns if c.terminal), style="bold", markup=False, highlight=False
        )
    return count


def _room(out: Console) -> int:
    """The terminal's width: $COLUMNS as it is when the table is printed (rich reads it only once,
    when the console is made, at import), else what rich finds."""
    columns = os.environ.get("COLUMNS", "")
    return int(columns) if columns.isdigit() and int(columns) > 0 else out.width


def _line(columns: Sequence[Column], values: Sequence[str], widths: Sequence[int | None]) -> str:
    """One terminal line: each shown value cut with "…" or padded to its column's width."""
    cells = []
    for column, value, width in zip(columns, values, widths, strict=True):
        if width is None:
            continue
        value = _clean(value)
        size = cell_len(value)
        if size > width:
            value = set_cell_size(value, width - 1) + "…" if width > 1 else "…"[:width]
        elif size < width:
            pad = " " * (width - size)
            value = pad + value if column.justify == "right" else value + pad
        cells.append(value)
    return "   ".join(cells).rstrip()


def _batches(rows: Iterator[TableRow], size: int) -> Iterator[list[TableRow]]:
    while chunk := list(islice(rows, size)):
        yield chunk


def _values(row: TableRow) -> Sequence[str]:
    return row.values if isinstance(row, Styled) else row


def _fit(
    columns: Sequence[Column], rows: list[TableRow], before: list[int | None] | None, room: int
) -> list[int | None]:
    """Each column's width on a terminal ``room`` wide, None for a column left out.

    The first batch: each column's widest value; then shrink columns are cut, the widest first,
    and, when even that is too wide, columns are hidden by rank; on a terminal too narrow for what
    is left, the widest columns are cut too (a line never runs past the edge, to be wrapped by the
    terminal). A later batch keeps the columns of the first and widens only an uncut column (an
    address longer than any before)."""
    natural = [cell_len(c.header) for c in columns]
    for row in rows:
        for n, value in enumerate(_values(row)):
            natural[n] = max(natural[n], cell_len(value))
    if before is None:
        base: list[int | None] = [w if c.terminal else None for c, w in zip(columns, natural, strict=True)]
    else:
        base = [
            b if b is None or c.shrink else max(w, b)
            for c, w, b in zip(columns, natural, before, strict=True)
        ]
    while True:
        widths = list(base)
        used = [w for w in widths if w is not None]
        excess = sum(used) + _GAP * (len(used) - 1) - room
        excess = _cut(widths, excess, [c.min_width if c.shrink else None for c in columns])
        if excess <= 0:
            return widths
        hideable = [n for n, c in enumerate(columns) if c.hide and base[n] is not None]
        if not hideable:
            _cut(widths, excess, [4] * len(columns))  # "addr…": a terminal narrower than any address
            return widths
        base[max(hideable, key=lambda n: columns[n].hide)] = None


def _cut(widths: list[int | None], excess: int, floors: list[int | None]) -> int:
    """Narrow the widest columns that have a floor, down to it, by ``excess`` in all; what is left of it."""
    for n in sorted(range(len(widths)), key=lambda n: -(widths[n] or 0)):
        width, floor = widths[n], floors[n]
        if excess > 0 and width is not None and floor is not None and width > floor:
            cut = min(excess, width - floor)
            widths[n] = width - cut
            excess -= cut
    return excess


def _write(out: Console, lines: list[str]) -> None:
    if lines:
        out.file.write("\n".join(lines) + "\n")
        lines.clear()


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _clean(value: str) -> str:
    """A value on one line, with no control characters (a tab, a line break, a terminal's escape)."""
    return _CONTROL.sub(" ", value) if _CONTROL.search(value) else value


def _print_tsv(columns: Sequence[Column], rows: Iterable[TableRow], title: str, out: Console) -> int:
    if title:
        err_console.print(title, markup=False, highlight=False, soft_wrap=True)
    file = out.file
    count = 0
    try:
        file.write("\t".join(c.header for c in columns) + "\n")
        for chunk in _batches(iter(rows), 1000):
            file.write("".join("\t".join(_clean(v) for v in _values(row)) + "\n" for row in chunk))
            count += len(chunk)
        file.flush()
    except BrokenPipeError:  # `| head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
    return count
