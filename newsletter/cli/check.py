"""`newsletter check`: is this newsletter ready for a real send?"""

from __future__ import annotations

from datetime import datetime

import click
from rich.markup import escape

from newsletter.check import Level
from newsletter.cli.common import as_of_option, console, moment, open_store, settings_from
from newsletter.pipeline import check

MARK = {Level.PASS: "[green]pass[/]", Level.WARN: "[yellow]warn[/]", Level.FAIL: "[bold red]FAIL[/]"}


@click.command("check")
@as_of_option
@click.option("--no-smtp", is_flag=True, help="Do not connect to the SMTP server.")
@click.pass_context
def check_command(ctx: click.Context, as_of: datetime | None, no_smtp: bool) -> None:
    """Check that a real send is ready: sender, links, secret, SMTP login, DNS (SPF, DMARC, DKIM), the email.

    Exits 1 when a check fails: `send` would refuse for the same reason.
    """
    settings = settings_from(ctx)
    engine = open_store(settings)
    results = check(settings, engine, moment(settings, as_of), smtp=not no_smtp)
    for r in results:
        console.print(f"{MARK[r.level]}  {escape(r.name)}: {escape(r.message)}", soft_wrap=True)
        if r.todo and r.level != Level.PASS:
            console.print(f"      [dim]to do:[/] {escape(r.todo)}", soft_wrap=True)
    failed = sum(r.level == Level.FAIL for r in results)
    warned = sum(r.level == Level.WARN for r in results)
    if settings.delivery.transport != "smtp":
        console.print(
            f"transport is {settings.delivery.transport}: no mail leaves this machine; the checks that matter only "
            "to real readers are warnings here and failures over SMTP"
        )
    console.print(f"{len(results)} checks: {failed} failed, {warned} warning(s)")
    if failed:
        ctx.exit(1)


COMMANDS = [check_command]
