"""`newsletter preview`: what will be sent, as files the editor can open, screenshots, a live page, a test copy."""

from __future__ import annotations

import contextlib
from datetime import datetime
from pathlib import Path

import click
from rich.markup import escape

from newsletter import store
from newsletter.cli.common import as_of_option, console, err_console, moment, open_store, settings_from, warn
from newsletter.config import config_path, load_settings
from newsletter.editor import emptied_note
from newsletter.pipeline import TEST_PREFIX, preview, send_test
from newsletter.render.browser import screenshots
from newsletter.render.preview_server import Rendering, serve_preview
from newsletter.render.templates import default_templates


@click.command("preview")
@as_of_option
@click.option(
    "--out",
    "out",
    type=click.Path(file_okay=False, path_type=Path),
    default="preview",
    show_default=True,
    help="Folder for issue.html, issue.txt and issue.eml (and the screenshots).",
)
@click.option("--open", "open_browser", is_flag=True, help="Open issue.html in the web browser.")
@click.option(
    "--screenshots",
    "take_screenshots",
    is_flag=True,
    help="Also write screenshots taken with headless Chromium: issue-desktop.png (600 px), issue-phone.png "
    "(375 px), issue-dark.png (a phone in dark mode) and issue-nostyle.png (a phone whose mail app drops "
    "<style>, as Gmail's apps do for other accounts).",
)
@click.option(
    "--serve",
    is_flag=True,
    help="Serve the preview on 127.0.0.1 and render it again when a template or the config changes.",
)
@click.option(
    "--port", type=int, default=8026, show_default=True, help="Port for --serve (0: any free port)."
)
@click.option(
    "--to",
    "to",
    metavar="ADDR",
    help="Send one copy to ADDR, subject prefixed [TEST], through the configured transport.",
)
@click.pass_context
def preview_command(
    ctx: click.Context,
    as_of: datetime | None,
    out: Path,
    open_browser: bool,
    take_screenshots: bool,
    serve: bool,
    port: int,
    to: str | None,
) -> None:
    """Render the period's draft to html, txt and eml files, exactly as it will be sent."""
    settings = settings_from(ctx)
    engine = open_store(settings)
    result = preview(settings, engine, moment(settings, as_of), out)
    warn(result.warnings)
    if result.issue.is_empty:
        row = store.issues.get(engine, result.issue.period.key)
        emptied = emptied_note(row.draft, row.period_key) if row is not None else ""
        err_console.print(
            f"[yellow]note:[/] {escape(emptied or 'the draft is empty: nothing new in this period')}"
        )
    console.print(f"subject: {result.rendered.subject}")
    console.print(f"html:    {result.html}  ({len(result.rendered.html.encode()) // 1024} KB)")
    console.print(f"text:    {result.text}")
    console.print(f"eml:     {result.eml}")
    if take_screenshots:
        for path in screenshots(result.html, out):
            console.print(f"png:     {path}")
    if to:
        send_test(settings, engine, moment(settings, as_of), to)
        console.print(f"sent:    a {TEST_PREFIX.strip()} copy to {to} ({settings.delivery.transport})")
    if open_browser and not serve:
        click.launch(str(result.html.resolve()))
    if serve:
        _serve(ctx, as_of, out, port, open_browser)


def _serve(ctx: click.Context, as_of: datetime | None, out: Path, port: int, open_browser: bool) -> None:
    config = ctx.find_root().obj["config"]

    def render() -> Rendering:
        settings = load_settings(config)  # read again: the theme may have changed
        engine = open_store(settings)
        try:
            result = preview(settings, engine, moment(settings, as_of), out, fresh=True)
        finally:
            engine.dispose()
        templates = settings.path(settings.newsletter.templates) if settings.newsletter.templates else None
        watch = (config_path(config).resolve(), default_templates(), *((templates,) if templates else ()))
        return Rendering(result.html, result.text, watch, title=result.rendered.subject)

    def ready(url: str) -> None:
        console.print(f"serving the preview at {url}  (Ctrl-C to stop)")
        if open_browser:
            click.launch(url)

    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how one stops it
        serve_preview(render, port=port, ready=ready)


COMMANDS = [preview_command]
