"""The editor in the loop of the automatic send.

    [schedule] preflight = "2h"   two hours before each scheduled send: collect and render the period's
                                  issue and email it to the editors as subscribers will see it, a box on
                                  top with the readiness checks, the counts and two one-time links
    "Hold this issue"             the daemon does not send it at its time; a second email carries the
                                  link that releases it (or `newsletter release`)
    "Send now"                    released to go at once
    [schedule] approval = true    the reverse: nothing goes out until released; one reminder at the due
                                  time; grace_hours after it the period is skipped and the editors told

The links lead to /preflight/<token> on `newsletter serve`: a GET shows a page with a button (a mail
scanner following links changes nothing), the POST acts. A token names the period, the action and the
row's version: it works once, a stale one (the issue was held or released since) changes nothing, and
every token dies with the period. The state lives in the ``preflights`` table, one row a period, so the
daemon, `serve` and the command line share it across processes and machines.

Library code: it logs and raises, never prints.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import logging
import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import Engine

from newsletter import pipeline, store
from newsletter.check import Level, readiness
from newsletter.collect import period_for
from newsletter.compose import list_id
from newsletter.config import Settings, duration_spec
from newsletter.models import IssueState, RunOutcome
from newsletter.store.preflights import HELD, PENDING, RELEASED, SKIPPED, Preflight
from newsletter.subscribers import b64url, unb64url
from newsletter.transports import note_editors

log = logging.getLogger(__name__)

HOLD, SEND, RELEASE = "hold", "send", "release"
ACTIONS = (HOLD, SEND, RELEASE)
SUBJECT_PREFIX = "[Preflight] "


def enabled(settings: Settings) -> bool:
    return bool(settings.schedule.preflight)


def lead(settings: Settings) -> timedelta:
    """How long before the send the editors get the issue."""
    return duration_spec(settings.schedule.preflight)


def deadline(settings: Settings, row: Preflight) -> datetime:
    """Approval mode: released after this, the period is skipped."""
    return row.due_at + timedelta(hours=settings.schedule.grace_hours)


def period_end(due_at: datetime, settings: Settings) -> datetime:
    """Midnight at the end of the ISO week holding ``due_at`` (local time): the links die then."""
    local = due_at.astimezone(settings.zone)
    monday = local.date() - timedelta(days=local.weekday())
    return datetime.combine(monday + timedelta(days=7), datetime.min.time(), settings.zone)


# --- links ---------------------------------------------------------------------------------


def _mac(settings: Settings, payload: str) -> bytes:
    message = f"newsletter preflight\0{list_id(settings)}\0{payload}".encode()
    return hmac.new(settings.secret.encode(), message, hashlib.sha256).digest()[:16]


def token(settings: Settings, period_key: str, action: str, version: int) -> str:
    payload = f"{period_key}|{action}|{version}"
    return f"{b64url(payload.encode())}.{b64url(_mac(settings, payload))}"


@dataclass(frozen=True, slots=True)
class Link:
    period_key: str
    action: str
    version: int


def read_token(settings: Settings, text: str) -> Link | None:
    """What a link asks, or None for a forged or altered one (it may still be stale or expired)."""
    try:
        encoded, mac = text.split(".", 1)
        payload = unb64url(encoded).decode("utf-8")
        key, action, version = payload.split("|")
        expected = b64url(_mac(settings, payload))
        if not hmac.compare_digest(expected.encode(), mac.encode("utf-8", "replace")):
            return None
        return Link(key, action, int(version)) if action in ACTIONS else None
    except (ValueError, UnicodeDecodeError):
        return None


def link(settings: Settings, period_key: str, action: str, version: int) -> str:
    return f"{settings.web.base_url.rstrip('/')}/preflight/{token(settings, period_key, action, version)}"


# --- what the editors decide --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Outcome:
    """What an action did: ``changed`` False with a reason when it could not (stale, too late)."""

    changed: bool
    message: str
    row: Preflight | None = None


def act(
    settings: Settings,
    engine: Engine,
    period_key: str,
    action: str,
    *,
    by: str,
    version: int | None = None,
    now: datetime,
) -> Outcome:
    """Hold, release or send-now a period's issue (``version``: a link's, which then works once)."""
    row = store.preflights.get(engine, period_key)
    if row is None:
        return Outcome(False, f"issue {period_key} has no preflight: nothing to hold or release")
    if now >= row.expires_at:
        return Outcome(False, f"the week of issue {period_key} is over: this link has expired", row)
    issue = store.issues.get(engine, period_key)
    if issue is not None and issue.state != IssueState.DRAFT:
        return Outcome(
            False, f"issue {period_key} is already {issue.state.value}: too late to change it", row
        )
    if action == HOLD:
        changed = store.preflights.change(
            engine, period_key, HELD, by=by, version=version, allowed_from=(PENDING, RELEASED)
        )
        done = f"issue {period_key} is held: nothing goes out until it is released"
    else:
        now_too = action == SEND or now >= row.due_at
        changed = store.preflights.change(
            engine,
            period_key,
            RELEASED,
            by=by,
            version=version,
            send_now=now_too,
            allowed_from=(PENDING, HELD),
        )
        done = (
            f"issue {period_key} is released: it goes out within a minute"
            if now_too
            else f"issue {period_key} is released: it goes out at {_local(row.due_at, settings)}"
        )
    if changed is None:
        current = store.preflights.get(engine, period_key) or row
        why = (
            "this link was used already, or the issue changed since the email was sent"
            if version is not None
            else f"it is {current.state} already"
        )
        return Outcome(False, f"issue {period_key}: nothing changed: {why} (now {current.state})", current)
    log.info("%s (by %s)", done, by)
    return Outcome(True, done, changed)


def gate(settings: Settings, engine: Engine, period_key: str, now: datetime) -> tuple[RunOutcome, str] | None:
    """Before a scheduled run: None to send, else why not (held, awaiting approval, skipped)."""
    if not enabled(settings):
        return None
    row = store.preflights.get(engine, period_key)
    if row is not None and row.state == SKIPPED:
        return RunOutcome.SKIPPED, f"issue {period_key} was skipped: nobody approved it in time"
    if row is not None and row.state == RELEASED:
        return None
    if row is not None and row.state == HELD:
        return RunOutcome.HELD, (
            f"issue {period_key} is held by an editor: `newsletter release {period_key}` "
            "or the link in the email sends it"
        )
    if not settings.schedule.approval:
        return None
    return RunOutcome.HELD, f"issue {period_key} awaits an editor's approval"


# --- the emails ----------------------------------------------------------------------------


def mail(settings: Settings, engine: Engine, due_at: datetime, now: datetime) -> str:
    """Email the preflight for the send due at ``due_at`` (once per period); a line for the log."""
    key = period_for(due_at, settings.zone).key
    row = store.preflights.open_for(engine, key, due_at, period_end(due_at, settings))
    if not store.preflights.claim_mailing(engine, key):
        return f"the preflight of issue {key} was emailed already"
    try:
        sent = _mail_issue(settings, engine, row, now)
    except Exception:
        store.preflights.unclaim_mailing(engine, key)
        raise
    return f"preflight of issue {key} emailed to {', '.join(sent)}"


def _mail_issue(settings: Settings, engine: Engine, row: Preflight, now: datetime) -> list[str]:
    issue, feed_errors = pipeline.draft_issue(settings, engine, now)
    when = _local(row.due_at, settings)
    least = max(1, settings.issue.min_items)
    if len(issue.items) < least:
        found = (
            "Nothing new was collected"
            if not issue.items
            else f"Only {len(issue.items)} new stories were collected ([issue] min_items = {least}); "
            "they wait for the next issue"
        )
        body = (
            f"{found} for issue {row.period_key}: nothing goes out at {when}.\n"
            "`newsletter collect --explain` says what each source gave and why it was left out.\n"
        )
        for error in feed_errors:
            body += f"  {error}\n"
        note_editors(settings, f"{SUBJECT_PREFIX}nothing to send at {when}", body)
        return list(settings.editors)
    rendered = pipeline.rendered_for(settings, engine, issue)
    results = readiness(settings, rendered, feed_errors, smtp=settings.delivery.transport == "smtp")
    recipients = pipeline.would_receive(settings, engine, [])
    facts = [
        f"{recipients:,} subscriber(s)",
        f"{len(issue.items)} stories",
        f"{len(rendered.html.encode()) / 1000:.1f} KB of HTML",
    ]
    problems = [r for r in results if r.level != Level.PASS]
    refused = (
        settings.delivery.transport == "smtp"
        and settings.delivery.readiness == "refuse"
        and any(r.level == Level.FAIL for r in results)
    )
    approval = settings.schedule.approval
    hold = link(settings, row.period_key, HOLD, row.version)
    send = link(settings, row.period_key, SEND, row.version)
    if approval:
        lede = (
            f"Nothing goes out until you approve it. Due {when}; if nobody approves by "
            f"{_local(deadline(settings, row), settings)}, this week is skipped and its stories wait for the next."
        )
    else:
        lede = f"This issue goes out {when} unless you hold it."
    after = (
        "What is sent is the draft at that time: changes made with `newsletter draft` are kept, "
        "and stories published before then are added. Each link works once, until the week ends."
    )
    if refused:
        lede += " As things stand the send will be REFUSED: fix each failure below (`newsletter check`)."
    lines = [f"PREFLIGHT: issue {row.period_key}", lede, " | ".join(facts)]
    lines += [
        f"{r.level.value}: {r.name}: {r.message}" + (f" ({r.todo})" if r.todo else "") for r in problems
    ]
    lines += [f"Hold this issue: {hold}", f"Send now: {send}", after, "-" * 60, ""]
    box = _box(lede, facts, problems, hold, send, after, approval)
    shown = replace(
        rendered,
        html=re.sub(r"(<body[^>]*>)", lambda m: m[1] + box, rendered.html, count=1),
        text="\n".join(lines) + "\n" + rendered.text,
    )
    pipeline.send_copies(
        settings, shown, list(settings.editors), subject_prefix=SUBJECT_PREFIX, what="preflight"
    )
    return list(settings.editors)


def _box(
    lede: str, facts: list[str], problems: list, hold: str, send: str, after: str, approval: bool
) -> str:
    """The editor's box on top of the issue: inline styles only (mail clients drop <style> blocks)."""
    esc = html.escape
    tag = {Level.FAIL: "#b91c1c", Level.WARN: "#92400e"}
    checks = "".join(
        f'<li style="margin:0 0 4px"><strong style="color:{tag.get(r.level, "#1f2937")}">'
        f"{esc(r.level.value.upper())}</strong> {esc(r.name)}: {esc(r.message)}"
        + (f" ({esc(r.todo)})" if r.todo else "")
        + "</li>"
        for r in problems
    )
    checks_html = (
        f'<ul style="margin:8px 0;padding-left:20px">{checks}</ul>'
        if checks
        else '<p style="margin:8px 0">Readiness: every check passes.</p>'
    )
    button = (
        "display:inline-block;padding:10px 18px;margin:4px 8px 4px 0;border-radius:6px;"
        "font-weight:bold;text-decoration:none;"
    )
    send_label = "Approve and send now" if approval else "Send now"
    return (
        '<div style="max-width:568px;margin:16px auto;padding:16px;border:2px solid #b45309;'
        "border-radius:8px;background:#fffbeb;color:#1f2937;font-family:Arial,Helvetica,sans-serif;"
        'font-size:15px;line-height:1.45">'
        f'<p style="margin:0 0 8px;font-weight:bold">Preflight: {esc(lede)}</p>'
        f'<p style="margin:0">{esc(" · ".join(facts))}</p>'
        f'<p style="margin:8px 0"><a href="{esc(hold)}" style="{button}background:#b45309;color:#ffffff">'
        f'Hold this issue</a><a href="{esc(send)}" style="{button}background:#ffffff;color:#b45309;'
        f'border:1px solid #b45309">{send_label}</a></p>'
        f"{checks_html}"
        f'<p style="margin:8px 0 0;font-size:13px;color:#4b5563">{esc(after)}</p>'
        "</div>"
    )


def mail_held(settings: Settings, row: Preflight) -> None:
    """The second email: the issue is held, and the link that releases it."""
    release = link(settings, row.period_key, RELEASE, row.version)
    body = (
        f"Issue {row.period_key} is held: nothing goes out until it is released.\n\n"
        f"Release it (it goes out at {_local(row.due_at, settings)}, or at once if that time has passed):\n"
        f"  {release}\n\n"
        f"or run: newsletter release {row.period_key}\n"
    )
    note_editors(settings, f"{SUBJECT_PREFIX}issue {row.period_key} is held", body)


def mail_reminder(settings: Settings, row: Preflight) -> None:
    """Approval mode, at the due time: one reminder with a fresh link."""
    send = link(settings, row.period_key, SEND, row.version)
    body = (
        f"Issue {row.period_key} was due {_local(row.due_at, settings)} and awaits your approval.\n\n"
        f"Approve and send it now:\n  {send}\n\nor run: newsletter release {row.period_key}\n\n"
        f"If nobody approves by {_local(deadline(settings, row), settings)}, this week is skipped and its "
        "stories wait for the next issue.\n"
    )
    note_editors(settings, f"{SUBJECT_PREFIX}issue {row.period_key} awaits approval", body)


def mail_skipped(settings: Settings, row: Preflight) -> None:
    body = (
        f"Nobody approved issue {row.period_key} by {_local(deadline(settings, row), settings)}: "
        "it was not sent. Its stories wait for the next issue.\n"
    )
    note_editors(settings, f"{SUBJECT_PREFIX}issue {row.period_key} skipped", body)


def _local(moment: datetime, settings: Settings) -> str:
    return f"{moment.astimezone(settings.zone):%a %Y-%m-%d %H:%M %Z}"
