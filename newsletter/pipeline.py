"""The whole flow for one period, as `newsletter send`, `preview` and the scheduler run it.

    sync subscribers -> collect (or reuse the frozen draft) -> render -> freeze -> enqueue -> deliver

Every shell calls these functions; none of them prints.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine

from newsletter import store
from newsletter.check import Level, Result, readiness, refuse_on_failure
from newsletter.collect import collect, issue_from_draft, period_of, story_key
from newsletter.compose import Composer
from newsletter.config import Settings
from newsletter.deliver import (
    DeliverySummary,
    Observer,
    check_transport,
    deliver,
    outcome_message,
    outcome_state,
)
from newsletter.deliver.handoff import DeliveryJob
from newsletter.editor import emptied_note
from newsletter.errors import NewsletterError
from newsletter.models import (
    SUPPRESSED,
    DeliveryState,
    Issue,
    IssueState,
    RenderedIssue,
    RunOutcome,
    Subscriber,
    SubscriberStatus,
)
from newsletter.render import render_issue
from newsletter.sources import health, source_warnings
from newsletter.sources.images import local_image_urls
from newsletter.subscribers import read_csv, sync
from newsletter.transports import Transport, note_editors

PREVIEW_SUBSCRIBER = Subscriber(email="reader@example.org", name="Alex Reader")


@dataclass(slots=True)
class SendOutcome:
    """What a send did: ``state`` is sent, partial, paused, nothing-new, already-sent or dry-run."""

    state: RunOutcome
    message: str
    period_key: str = ""
    summary: DeliverySummary | None = None
    warnings: list[str] = field(default_factory=list)
    recipients: int = 0


def sync_subscribers(settings: Settings, engine: Engine) -> list[str]:
    """Bring the store in line with the configured CSV; return the problems as warnings."""
    if not settings.subscribers.csv:
        return []
    report = read_csv(settings.path(settings.subscribers.csv))
    counts = sync(engine, report, remove_missing=settings.subscribers.mirror, source="csv")
    notes = [p + " (row skipped)" for p in report.problems] + report.notes + settings.notes()
    if counts["suppressed"]:
        listed = {s.email for s in report.subscribers}
        left = sorted(
            r.email
            for status in SUPPRESSED
            for r in store.subscribers.iterate(engine, status)
            if r.email in listed
        )
        named = ", ".join(left[:3]) + (f" and {len(left) - 3} more" if len(left) > 3 else "")
        notes.append(
            f"{counts['suppressed']} address(es) in the CSV left the list earlier and get nothing: "
            f"{named or 'erased on request'} (remove them from the CSV to silence this)"
        )
    return notes


def draft_issue(settings: Settings, engine: Engine, as_of: datetime) -> tuple[Issue, list[str]]:
    """The period's issue: collected (or refreshed) while a draft, as frozen once sending began.
    The editors hear of a source that keeps failing or stays quiet (``tell_editors``)."""
    issue, results = collect(settings, engine, as_of)
    return issue, source_warnings(results) + list(issue.notes) + tell_editors(settings, engine, as_of)


def tell_editors(settings: Settings, engine: Engine, as_of: datetime) -> list[str]:
    """Email the editors each change in a source's health, once (``sources.health``); say what was sent."""
    lines = []
    for notice in health.notices(settings, engine, as_of) if settings.editors else []:
        try:
            note_editors(settings, f"[{settings.newsletter.name}] {notice.subject}", notice.body)
        except NewsletterError as exc:
            lines.append(f"could not email the editors that {notice.subject}: {exc.message}")
            continue
        store.feeds.set_alerted(engine, notice.source, notice.state)
        lines.append(f"emailed {', '.join(settings.editors)}: {notice.subject}")
    return lines


def rendered_for(settings: Settings, engine: Engine, issue: Issue) -> RenderedIssue:
    """The frozen rendering when the issue is already being sent, so every recipient gets the same email."""
    row = store.issues.get(engine, issue.period.key)
    if row is not None and row.state != IssueState.DRAFT and row.html:
        return RenderedIssue(
            subject=row.subject, preheader="", html=row.html, text=row.text, period_key=row.period_key
        )
    return render_issue(settings, issue)


def send(
    settings: Settings,
    engine: Engine,
    as_of: datetime,
    *,
    dry_run: bool = False,
    retry_failed: bool = False,
    transport: Transport | None = None,
    observer: Observer | None = None,
    stop: threading.Event | None = None,
    max_wait: float = 0.0,
    on_total: Callable[[int], None] | None = None,
    exclusive: bool = True,
    anyway: bool = False,
    deliver_with: Callable[[DeliveryJob], DeliverySummary] | None = None,
) -> SendOutcome:
    """What the scheduler does once: collect if needed, render, deliver; resumes an unfinished send.

    ``on_total`` hears how many recipients are due before the first message goes. Not ``exclusive``,
    on PostgreSQL, the send joins one already running (each sender claims its own recipients);
    otherwise a running send makes this one raise ``store.SendBusy``. A real send over SMTP first
    runs the readiness checks and raises ``NotReady`` on a failure, unless ``anyway``.

    ``deliver_with``, when given, delivers the issue once it is ready (frozen, enqueued), in place
    of ``deliver`` in this process: `newsletter send` hands it to a lean process
    (deliver/handoff.py); the job carries the warnings gathered so far.
    """
    # A dry run changes nothing: the list is synced from the CSV only by a real send.
    warnings = [] if dry_run else sync_subscribers(settings, engine)
    issue, feed_warnings = draft_issue(settings, engine, as_of)
    warnings += feed_warnings
    key = issue.period.key
    row = store.issues.get(engine, key)
    if row is not None and retry_failed:
        store.ledger.retry_failed(engine, row.id)
        row = store.issues.get(engine, key)
    if row is not None and row.state == IssueState.SENT:
        return SendOutcome(
            RunOutcome.ALREADY_SENT,
            f"issue {key} was sent on {row.sent_at:%Y-%m-%d %H:%M %Z}; nothing to do",
            key,
            warnings=warnings,
        )
    if row is None or (row.state == IssueState.DRAFT and not issue.items):
        since = issue.period.start.astimezone(settings.zone)
        emptied = emptied_note(row.draft, key) if row is not None else ""
        message = emptied or f"nothing new since {since:%Y-%m-%d %H:%M %Z}"
        return SendOutcome(RunOutcome.NOTHING_NEW, message, key, warnings=warnings)
    if row.state == IssueState.DRAFT and len(issue.items) < settings.issue.min_items:
        return _roll_over(settings, engine, row.id, issue, dry_run, warnings)
    rendered = rendered_for(settings, engine, issue)
    warnings += list(rendered.warnings)
    composer = Composer(settings, rendered)  # a wrong DKIM key stops here
    refusals: list[str] = []
    if settings.delivery.transport == "smtp" and transport is None and settings.delivery.readiness != "off":
        # A real send over SMTP: the readiness checks first (a dry run also tries the server).
        results = readiness(settings, rendered, smtp=dry_run)
        warnings += [
            f"{r.name}: {r.message} ({r.todo})" if r.todo else f"{r.name}: {r.message}"
            for r in results
            if r.level == Level.WARN
        ]
        if settings.delivery.readiness == "refuse" and not anyway:
            if not dry_run:
                refuse_on_failure(results)
            refusals = [f"{r.name}: {r.message}" for r in results if r.level == Level.FAIL]
        else:
            warnings += [f"{r.name}: {r.message} (sending anyway)" for r in results if r.level == Level.FAIL]
    else:
        warnings += _mail_warnings(settings, rendered)
    if dry_run:
        if refusals:
            return SendOutcome(
                RunOutcome.DRY_RUN,
                "a real send would refuse: "
                + "; ".join(refusals)
                + " (`newsletter check` says how to fix each)",
                key,
                warnings=warnings,
            )
        pending = (
            would_receive(settings, engine, warnings)
            if row.state == IssueState.DRAFT
            else store.ledger.unsent(engine, row.id)
        )
        return SendOutcome(
            RunOutcome.DRY_RUN,
            f"would send {rendered.subject!r} to {pending} subscriber(s) {_route(settings, composer)}; "
            "nothing was sent or recorded",
            key,
            warnings=warnings,
            recipients=pending,
        )
    with store.locks.send_lock(engine, exclusive=exclusive):
        # A refused connection or login stops here, before anything is recorded.
        if transport is not None:
            transport.open()
        else:
            check_transport(settings)
        with store.locks.one_at_a_time(engine, f"prepare {key}"):
            keys = [story_key(i.link) for i in issue.items]
            store.issues.mark_sending(engine, row.id, rendered.subject, rendered.html, rendered.text, keys)
            store.history.remember(settings.history_path, engine, key)
            back = store.journal.Journal(settings.journal_path).reconcile(engine)
            if back:
                warnings.append(
                    f"{back} subscriber(s) left or were erased after this database was last saved (a restored backup?): "
                    "the suppression journal keeps them off the list"
                )
            store.ledger.enqueue(engine, row.id)
            others = store.ledger.live_senders(engine, within=settings.delivery.lease_seconds)
            store.issues.resume(engine, row.id, joining=bool(others.get(row.id)))
        if deliver_with is not None:
            job = DeliveryJob(
                row.id,
                key,
                _route(settings, composer),
                max_wait,
                exclusive,
                warnings,
            )
            summary = deliver_with(job)
        else:
            if on_total is not None:
                on_total(store.ledger.due(engine, row.id))
            summary = deliver(
                settings,
                engine,
                row.id,
                rendered,
                transport=transport,
                composer=composer,
                observer=observer,
                stop=stop,
                max_wait=max_wait,
            )
    return SendOutcome(
        outcome_state(summary),
        outcome_message(key, summary, _route(settings, composer)),
        key,
        summary,
        warnings,
    )


def _roll_over(
    settings: Settings, engine: Engine, issue_id: int, issue: Issue, dry_run: bool, warnings: list[str]
) -> SendOutcome:
    """Too few items for [issue] min_items: nothing is sent; the next issue's window holds them."""
    key, count = issue.period.key, len(issue.items)
    since = issue.period.start.astimezone(settings.zone)
    why = (
        f"{count} new item(s) since {since:%Y-%m-%d %H:%M %Z}, fewer than [issue] min_items = "
        f"{settings.issue.min_items}: nothing is sent, and they wait for the next issue"
    )
    if dry_run:
        return SendOutcome(RunOutcome.DRY_RUN, f"issue {key} would roll over: {why}", key, warnings=warnings)
    store.issues.mark_rolled_over(engine, issue_id, why)
    return SendOutcome(RunOutcome.ROLLED_OVER, f"issue {key} rolled over: {why}", key, warnings=warnings)


def _route(settings: Settings, composer: Composer) -> str:
    d = settings.delivery
    signed = f", DKIM-signed for {composer.signer.domain}" if composer.signer else ""
    if d.transport == "maildir":
        return f"into the Maildir {settings.path(d.maildir)}{signed}"
    login = f" as {d.username}" if d.username else ""
    return (
        f"over SMTP to {d.host}:{d.port}, security {d.security}{login}, {d.connections} connection(s){signed}"
    )


def _mail_warnings(settings: Settings, rendered: RenderedIssue) -> list[str]:
    """What would make the email wrong for its readers, said before it goes out."""
    warnings = []
    local = rendered.html.count('src="file:')
    if local and settings.delivery.transport == "smtp":
        warnings.append(
            f"{local} image(s) in the email are local files (file: URLs) that subscribers cannot load; "
            "publish them over https and give the feed or the items file their http(s) URLs"
        )
    secret = settings.secret_warning()
    if secret:
        warnings.append(secret)
    return warnings


def check(settings: Settings, engine: Engine, as_of: datetime, *, smtp: bool = True) -> list[Result]:
    """`newsletter check`: every readiness check, over the period's issue as it would be sent."""
    try:
        issue, feed_errors = draft_issue(settings, engine, as_of)
    except NewsletterError as exc:  # every source failed: nothing to render
        return [*readiness(settings, smtp=smtp), Result("feeds", Level.FAIL, exc.message, exc.hint or "")]
    row = store.issues.get(engine, issue.period.key)
    rendered = rendered_for(settings, engine, issue) if row is not None and issue.items else None
    return readiness(settings, rendered, feed_errors, smtp=smtp)


def would_receive(settings: Settings, engine: Engine, warnings: list[str]) -> int:
    """How many a real send would reach, counted without syncing the CSV into the store."""
    if not settings.subscribers.csv:
        return store.subscribers.count(engine).get(SubscriberStatus.ACTIVE, 0)
    report = read_csv(settings.path(settings.subscribers.csv))
    warnings += [p + " (row skipped)" for p in report.problems]
    left = {r.email for status in SUPPRESSED for r in store.subscribers.iterate(engine, status)}
    return sum(1 for s in report.subscribers if s.email not in left)


@dataclass(frozen=True, slots=True)
class Preview:
    issue: Issue
    rendered: RenderedIssue
    html: Path
    text: Path
    eml: Path
    warnings: list[str]


def preview(
    settings: Settings,
    engine: Engine,
    as_of: datetime,
    out_dir: Path,
    subscriber: Subscriber = PREVIEW_SUBSCRIBER,
    *,
    fresh: bool = False,
) -> Preview:
    """Render the period's draft and write issue.html, issue.txt and issue.eml, personalised for ``subscriber``.

    Once sending has begun the frozen rendering is shown, as every recipient gets it; ``fresh`` renders
    with the current templates regardless (for designing templates).
    """
    issue, warnings = draft_issue(settings, engine, as_of)
    rendered = render_issue(settings, issue) if fresh else rendered_for(settings, engine, issue)
    composer = Composer(settings, rendered)
    values = composer.values(subscriber)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = out_dir / "issue.html", out_dir / "issue.txt", out_dir / "issue.eml"
    # The images as this machine has them: the public base_url may not serve them (yet).
    html = local_image_urls(settings, fill(rendered.html, values, html_escape=True))
    paths[0].write_text(html, encoding="utf-8")
    paths[1].write_text(fill(rendered.text, values), encoding="utf-8")
    paths[2].write_bytes(composer.compose(subscriber))
    return Preview(issue, rendered, *paths, warnings=warnings + list(rendered.warnings))


def fill(body: str, values: dict[str, str], *, html_escape: bool = False) -> str:
    import html

    from newsletter.render.tokens import TOKEN

    return TOKEN.sub(
        lambda m: html.escape(values.get(m[1], "")) if html_escape else values.get(m[1], ""), body
    )


TEST_PREFIX = "[TEST] "


def send_test(
    settings: Settings,
    engine: Engine,
    as_of: datetime,
    address: str,
    *,
    transport: Transport | None = None,
) -> tuple[RenderedIssue, list[str]]:
    """Send one copy of the period's issue to ``address``, subject prefixed [TEST], through the configured
    transport. No ledger row is written and no subscriber is added: the real send is unaffected."""
    from email.utils import parseaddr

    from newsletter.errors import DeliveryError

    email = parseaddr(address)[1]
    if "@" not in email or any(c.isspace() for c in email):
        raise DeliveryError(f"{address!r} is not an email address", hint="give one such as you@example.org")
    issue, warnings = draft_issue(settings, engine, as_of)
    rendered = rendered_for(settings, engine, issue)
    send_copies(
        settings, rendered, [address], subject_prefix=TEST_PREFIX, what="test copy", transport=transport
    )
    return rendered, warnings + list(rendered.warnings)


def send_copies(
    settings: Settings,
    rendered: RenderedIssue,
    addresses: list[str],
    *,
    subject_prefix: str,
    what: str,
    transport: Transport | None = None,
) -> None:
    """One copy of ``rendered`` to each address ("Name <addr>" or addr), personalised as for a subscriber
    and sent through the configured transport, outside the list and the ledger (a test copy, the
    editors' preflight); DeliveryError naming ``what`` when one is refused."""
    from email.utils import parseaddr

    from newsletter.errors import DeliveryError
    from newsletter.transports import transport_for

    composer = Composer(settings, rendered, subject_prefix=subject_prefix)
    sender = parseaddr(settings.sender.from_)[1]
    transport = transport or transport_for(settings)
    transport.open()
    try:
        for address in addresses:
            name, email = parseaddr(address)
            result = transport.send(sender, email, composer.compose(Subscriber(email=email, name=name)))
            if result.state != DeliveryState.SENT:
                raise DeliveryError(
                    f"the {what} to {email} was not sent: {result.code} {result.reply}".rstrip(),
                    hint="check the [delivery] settings, or run `newsletter send --dry-run`",
                )
    finally:
        transport.close()


def stored_issue(settings: Settings, engine: Engine, period_key: str) -> Issue | None:
    row = store.issues.get(engine, period_key)
    return issue_from_draft(settings, period_of(row), row.draft) if row else None
