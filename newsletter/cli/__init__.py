"""The command line: the only code that reads argv, prints or exits.

Each command opens what it needs, calls one library function, and turns a NewsletterError into
a message with its hint (exit code 1; click uses 2 for usage errors).
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import click
from rich.markup import escape  # messages name keys like [schedule] when
from sqlalchemy.exc import SQLAlchemyError

from newsletter import __version__
from newsletter.cli.common import err_console
from newsletter.errors import NewsletterError
from newsletter.store.database import dispose_all, explain


def _remember_config(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value:
        root = ctx.find_root()
        root.obj = {**(root.obj or {}), "config": value}


def _with_config_option(command: click.Command) -> None:
    """Accept --config after the command name too (`newsletter send --config x.toml`)."""
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _with_config_option(sub)
        return
    if not any(p.name == "config_here" for p in command.params):
        command.params.append(
            click.Option(
                ["--config", "config_here"],
                type=click.Path(dir_okay=False),
                expose_value=False,
                callback=_remember_config,
                help="The config file (same as `newsletter --config`).",
            )
        )


class _CurrentStderr:
    """sys.stderr as it is at each write: the commands may run many times in one process (tests)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


_handler: logging.Handler | None = None


def _log_to_stderr(level: int) -> None:
    global _handler
    if _handler is None:
        _handler = logging.StreamHandler(_CurrentStderr())  # type: ignore[arg-type]
        _handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logging.getLogger().addHandler(_handler)
    logging.getLogger().setLevel(level)


def _database_url(ctx: click.Context) -> str:
    settings = (ctx.obj or {}).get("settings")
    return str(settings.database_url) if settings is not None else "(the configured database)"


class NewsletterGroup(click.Group):
    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        _with_config_option(cmd)
        super().add_command(cmd, name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            try:
                return super().invoke(ctx)
            except SQLAlchemyError as exc:  # locked, read-only, full, a server gone: one line, no traceback
                raise explain(exc, _database_url(ctx)) from exc
        except NewsletterError as exc:
            err_console.print(f"[bold red]error:[/] {escape(exc.message)}", highlight=False, markup=True)
            if exc.hint:
                err_console.print(f"[yellow]hint:[/] {escape(exc.hint)}", highlight=False)
            ctx.exit(1)
        finally:
            dispose_all()


@click.group(cls=NewsletterGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config",
    type=click.Path(dir_okay=False),
    envvar="NEWSLETTER_CONFIG",
    help="The config file (default ./newsletter.toml, or $NEWSLETTER_CONFIG).",
)
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.version_option(__version__, prog_name="newsletter")
@click.pass_context
def main(ctx: click.Context, config: str | None, verbose: int) -> None:
    """Collect the week's news from feeds, render a digest email, and send it to every subscriber."""
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    _log_to_stderr(level)
    ctx.obj = {"config": config, **(ctx.obj or {})}


def _register() -> None:
    from newsletter.cli import (
        backup,
        check,
        draft,
        feedback,
        preview,
        project,
        schedule,
        send,
        serve,
        subscribers,
    )

    for module in (project, draft, preview, check, send, feedback, schedule, subscribers, serve, backup):
        for command in module.COMMANDS:
            main.add_command(command)


_register()
