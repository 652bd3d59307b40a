"""`newsletter bounces` and `newsletter report`: what came back after the sends, and what each issue did."""

from __future__ import annotations

from pathlib import Path

import click

from newsletter.cli.common import console, open_store, settings_from, warn
from newsletter.feedback import read_mailbox
from newsletter.report import figures, html_page


@click.command()
@click.pass_context
def bounces(ctx: click.Context) -> None:
    """Read the bounce mailbox ([bounces]) once: suppress bounced and complaining addresses."""
    settings = settings_from(ctx)
    engine = open_store(settings)
    report = read_mailbox(settings, engine)
    read = sum(report.classes.values())
    classes = ", ".join(f"{n} {kind}" for kind, n in sorted(report.classes.items())) or "nothing"
    console.print(f"read {read} message(s): {classes}", markup=False)
    console.print(
        f"moved {report.moved} to {settings.bounces.processed_folder!r}; left {read - report.moved} "
        f"where they were ({report.not_ours} notification(s) about no message of ours)"
        + (f"; {report.seen_before} seen before" if report.seen_before else ""),
        markup=False,
    )
    for email, status in report.suppressed:
        console.print(f"{status}: {email}", markup=False)


@click.command()
@click.argument("issue", required=False)
@click.option(
    "--html",
    "html_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write a page with a chart of the last issues to this file.",
)
@click.option("--last", default=12, show_default=True, help="How many issues the --html page covers.")
@click.pass_context
def report(ctx: click.Context, issue: str | None, html_file: Path | None, last: int) -> None:
    """What ISSUE (default: the last one sent) did: sent, failed, bounced, complaints, unsubscribes."""
    settings = settings_from(ctx)
    engine = open_store(settings)
    if html_file is not None:
        rows = figures(engine, issue, last=1 if issue else last)
        html_file.write_text(html_page(settings.newsletter.name, rows), encoding="utf-8")
        console.print(f"wrote {html_file} ({len(rows)} issue(s))", markup=False)
        warn([f"issue {f.period_key}: {w}" for f in rows for w in f.warnings])
        return
    rows = figures(engine, issue)
    if not rows:
        console.print("no issue has been sent yet")
        return
    f = rows[0]
    console.print(f"issue {f.period_key}: {f.subject}", markup=False, soft_wrap=True)
    lines = [
        ("list", f.recipients, None),
        ("sent", f.sent, None),
        ("failed during the SMTP conversation", f.failed, f.rate(f.failed)),
        ("still to send (deferred)", f.deferred, None),
        ("bounced after the send", f.bounced_after, f.rate(f.bounced_after)),
        ("  of which permanent", f.permanent, None),
        ("bounces in all", f.bounces, f.rate(f.bounces)),
        ("complaints", f.complaints, f.rate(f.complaints)),
        ("unsubscribes from its links", f.unsubscribes, f.rate(f.unsubscribes)),
        ("auto-replies (not counted)", f.autoreplies, None),
    ]
    for label, n, rate in lines:
        console.print(f"{label:<38}{n:>8}" + (f"  {rate:7.2%}" if rate is not None else ""), markup=False)
    warn(f.warnings)


COMMANDS = [bounces, report]
