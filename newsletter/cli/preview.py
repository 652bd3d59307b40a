"""`newsletter preview`: what will be sent, as files the editor can open."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from newsletter.cli.common import as_of_option, console, err_console, moment, open_store, settings_from, warn
from newsletter.pipeline import preview


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


COMMANDS = [preview_command]
