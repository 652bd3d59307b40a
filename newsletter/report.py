"""What each issue did: sent, failed, deferred, bounced (during the SMTP conversation and after),
complaints and unsubscribes, with their rates against the lines Gmail and Yahoo hold bulk senders to,
and the same over the last issues as one HTML page with a chart.

Rates are over the messages sent. An unsubscribe is counted against the last issue sent to the
person before they followed their link (every issue's link is the same for one address). No opens
or clicks: nothing in the email tracks its reader.
"""

from __future__ import annotations

import html
import io
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine

from newsletter import store
from newsletter.errors import NewsletterError
from newsletter.models import DeliveryState, FeedbackKind, IssueState

COMPLAINT_WARN = 0.001  # Gmail: keep complaints under 0.1%
COMPLAINT_LINE = 0.003  # Gmail and Yahoo: never reach 0.3%
BOUNCE_LINE = 0.02  # bounces over 2% of a send: the list needs cleaning


@dataclass
class Figures:
    period_key: str
    subject: str
    sent_at: datetime | None
    recipients: int  # the ledger's rows: the list the issue went to
    sent: int
    failed: int  # refused during the SMTP conversation
    deferred: int  # still to be sent (pending or deferred)
    bounced_after: int  # permanent or transient bounces that came back later
    permanent: int
    complaints: int
    unsubscribes: int
    autoreplies: int
    warnings: list[str] = field(default_factory=list)

    def rate(self, n: int) -> float:
        return n / self.sent if self.sent else 0.0

    @property
    def bounces(self) -> int:
        return self.failed + self.bounced_after

    def line(self) -> str:
        return (
            f"issue {self.period_key}: {self.sent} sent, {self.failed} failed, {self.deferred} deferred, "
            f"{self.bounced_after} bounced after ({self.rate(self.bounces):.2%} bounces in all), "
            f"{self.complaints} complaint(s) ({self.rate(self.complaints):.2%}), "
            f"{self.unsubscribes} unsubscribe(s) ({self.rate(self.unsubscribes):.2%})"
        )


def figures(engine: Engine, period_key: str | None = None, last: int = 1) -> list[Figures]:
    """The figures of one issue (``period_key``) or of the last ``last`` issues sent, oldest first."""
    rows = [r for r in store.issues.all_issues(engine) if r.state != IssueState.DRAFT]
    if period_key is not None:
        rows = [r for r in rows if r.period_key == period_key]
        if not rows:
            raise NewsletterError(
                f"no issue {period_key} was sent",
                hint="`newsletter status` lists the issues and their periods",
            )
    rows = sorted(rows, key=lambda r: r.id)[-last:]
    feedback = store.feedback.counts_by_issue(engine, [r.id for r in rows])
    found = []
    for row in rows:
        c = store.ledger.counts(engine, row.id)
        f = feedback[row.id]
        figures = Figures(
            period_key=row.period_key,
            subject=row.subject,
            sent_at=row.sent_at,
            recipients=sum(c.values()),
            sent=c.get(DeliveryState.SENT, 0),
            failed=c.get(DeliveryState.FAILED, 0),
            deferred=c.get(DeliveryState.PENDING, 0) + c.get(DeliveryState.DEFERRED, 0),
            bounced_after=f.get(FeedbackKind.PERMANENT, 0) + f.get(FeedbackKind.TRANSIENT, 0),
            permanent=f.get(FeedbackKind.PERMANENT, 0),
            complaints=f.get(FeedbackKind.COMPLAINT, 0),
            unsubscribes=f.get(FeedbackKind.UNSUBSCRIBE, 0),
            autoreplies=f.get(FeedbackKind.AUTOREPLY, 0),
        )
        figures.warnings = _warnings(figures)
        found.append(figures)
    return found


def _warnings(f: Figures) -> list[str]:
    said = []
    complaints = f.rate(f.complaints)
    if complaints >= COMPLAINT_LINE:
        said.append(
            f"complaints at {complaints:.2%}: over the 0.3% Gmail and Yahoo hold bulk senders to; "
            "their filters will send the next issues to spam"
        )
    elif complaints >= COMPLAINT_WARN:
        said.append(f"complaints at {complaints:.2%}: over Gmail's 0.1% recommendation")
    bounces = f.rate(f.bounces)
    if bounces >= BOUNCE_LINE:
        said.append(
            f"bounces at {bounces:.2%}: over 2%; the list holds dead addresses (were they imported from an old list?)"
        )
    return said


def html_page(name: str, rows: list[Figures]) -> str:
    """One page, with no script and nothing fetched: a table of the issues and a chart (SVG)."""
    head = (
        "<tr><th>issue</th><th>sent</th><th>list</th><th>failed</th><th>bounced after</th>"
        "<th>complaints</th><th>unsubscribes</th><th>bounce rate</th><th>complaint rate</th></tr>"
    )
    body = "".join(
        f"<tr><td>{html.escape(f.period_key)}</td><td>{f.sent}</td><td>{f.recipients}</td><td>{f.failed}</td>"
        f"<td>{f.bounced_after}</td><td>{f.complaints}</td><td>{f.unsubscribes}</td>"
        f"<td>{f.rate(f.bounces):.2%}</td><td>{f.rate(f.complaints):.2%}</td></tr>"
        for f in rows
    )
    warnings = "".join(
        f"<li>issue {html.escape(f.period_key)}: {html.escape(w)}</li>" for f in rows for w in f.warnings
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(name)}: what each issue did</title>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<style>body{font-family:system-ui,sans-serif;max-width:960px;margin:2em auto;padding:0 1em;color:#1f2933}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border-bottom:1px solid #d9e2ec;padding:4px 10px;"
        "text-align:right}td:first-child,th:first-child{text-align:left;white-space:nowrap}.warn{color:#a61b1b}"
        "svg{max-width:100%;height:auto}</style></head><body>"
        f"<h1>{html.escape(name)}: what each issue did</h1>"
        f"{chart(rows) if rows else '<p>No issue has been sent yet.</p>'}"
        + (f'<ul class="warn">{warnings}</ul>' if warnings else "")
        + f"<table>{head}{body}</table>"
        "<p>Rates are over the messages sent. Gmail asks bulk senders to keep complaints under 0.1% "
        "and never reach 0.3%; bounces over 2% mean dead addresses on the list. No opens or clicks are "
        "counted: nothing in the email tracks its reader.</p></body></html>"
    )


def chart(rows: list[Figures]) -> str:
    """The list's size, and bounces, complaints and unsubscribes per issue, as inline SVG (matplotlib)."""
    import matplotlib

    matplotlib.use("Agg")  # no display here
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    keys = [f.period_key for f in rows]
    x = list(range(len(rows)))
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(9, 6), sharex=True, height_ratios=(1, 1.4))
    try:
        top.plot(x, [f.recipients for f in rows], marker="o", color="#1f4e8c")
        top.set_ylabel("list size")
        top.set_ylim(bottom=0)
        top.set_title("The list, and what came back from each issue")
        width = 0.27
        bars = (
            ("bounces", [f.bounces for f in rows], "#d64545", -width),
            ("complaints", [f.complaints for f in rows], "#8719e0", 0.0),
            ("unsubscribes", [f.unsubscribes for f in rows], "#f0b429", width),
        )
        for label, values, colour, offset in bars:
            bottom.bar([i + offset for i in x], values, width, label=label, color=colour)
        bottom.set_ylabel("addresses")
        bottom.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=3, frameon=False)
        bottom.set_xticks(
            x, keys, rotation=45 if len(keys) > 8 else 0, ha="right" if len(keys) > 8 else "center"
        )
        for axes in (top, bottom):
            axes.yaxis.set_major_locator(MaxNLocator(integer=True))
            axes.spines[["top", "right"]].set_visible(False)
            axes.grid(axis="y", color="#e4e7eb")
        figure.tight_layout()
        out = io.StringIO()
        figure.savefig(out, format="svg")
    finally:
        plt.close(figure)
    svg = out.getvalue()
    return svg[svg.index("<svg") :]
