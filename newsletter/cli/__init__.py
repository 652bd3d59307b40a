"""The command line: the only code that reads argv, prints or exits.

Each command opens what it needs, calls one library function, and turns a NewsletterError into
a message with its hint (exit code 1; click uses 2 for usage errors).
"""

from __future__ import annotations

import importlib
import logging
import sys
from typing import Any

import click

from newsletter import __version__
from newsletter.errors import NewsletterError

# name -> (module in newsletter.cli, attribute, the command's short help). A command's module imports
# the stages it runs (the renderer, the database, ...), so it is imported when that command runs:
# `newsletter --help` imports none of them. tests/test_cli.py checks these lines against the
# commands' own help.
LAZY = {
    "backup": (
        "backup",
        "backup",
        "Copy the database to PATH (default: backups/ beside it), safely while sends and serve run.",
    ),
    "bounces": (
        "feedback",
        "bounces",
        "Read the bounce mailbox ([bounces]) once: suppress bounced and complaining addresses.",
    ),
    "check": (
        "check",
        "check_command",
        "Check that a real send is ready: sender, links, secret, SMTP login, DNS (SPF, DMARC, DKIM), the email.",
    ),
    "collect": ("draft", "collect", "Build (or refresh) the period's draft from the sources and print it."),
    "draft": (
        "draft",
        "draft",
        "Show and change the period's draft: pin the headline, drop, move, add, or edit it as a file.",
    ),
    "hold": (
        "schedule",
        "hold_command",
        "Hold the issue the preflight email announced (PERIOD such as 2026-W49): the daemon does not send it.",
    ),
    "init": (
        "project",
        "init",
        "Write newsletter.toml, subscribers.csv and a copy of the templates into DIRECTORY.",
    ),
    "preview": (
        "preview",
        "preview_command",
        "Render the period's draft to html, txt and eml files, exactly as it will be sent.",
    ),
    "release": (
        "schedule",
        "release_command",
        "Release a held issue (or approve one): it goes at its time, or at once if that time has passed.",
    ),
    "report": (
        "feedback",
        "report",
        "What ISSUE (default: the last one sent) did: sent, failed, bounced, complaints, unsubscribes.",
    ),
    "schedule": (
        "schedule",
        "schedule_command",
        "Run in the foreground and send each week's issue at [schedule] when; stop with SIGTERM or Ctrl-C.",
    ),
    "send": (
        "send",
        "send_command",
        "Collect if needed, render and deliver the period's issue; resumes an unfinished send.",
    ),
    "serve": ("serve", "serve", "Serve one-click unsubscribe and the archive of sent issues."),
    "status": (
        "send",
        "status",
        "Issues sent, counts per state, failures, failing sources and the last run.",
    ),
    "subscribers": ("subscribers", "subscribers", "Import, export, list, add, remove and check subscribers."),
}


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
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(LAZY)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in LAZY:
            return None
        if cmd_name not in self.commands:
            module, attribute, _ = LAZY[cmd_name]
            command = getattr(importlib.import_module(f"newsletter.cli.{module}"), attribute)
            _with_config_option(command)
            self.commands[cmd_name] = command
        return self.commands[cmd_name]

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The list of commands from LAZY: no command's module is imported for it."""
        with formatter.section("Commands"):
            formatter.write_dl([(name, help_) for name, (_, _, help_) in sorted(LAZY.items())])

    def invoke(self, ctx: click.Context) -> Any:
        from sqlalchemy.exc import SQLAlchemyError

        from newsletter.cli.common import print_error
        from newsletter.store.database import dispose_all, explain

        try:
            try:
                return super().invoke(ctx)
            except SQLAlchemyError as exc:  # locked, read-only, full, a server gone: one line, no traceback
                raise explain(exc, _database_url(ctx)) from exc
        except NewsletterError as exc:
            print_error(exc)
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
