"""Render an Issue once: Jinja -> MJML -> HTML -> inlined CSS, plus the plain-text part."""

from __future__ import annotations

import functools
import logging
import re
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
from babel.core import UnknownLocaleError
from babel.dates import format_date

from newsletter.config import Settings
from newsletter.errors import RenderError
from newsletter.models import SLOTS, Issue, Item, RenderedIssue
from newsletter.render.html import inline_css, mjml_to_html
from newsletter.render.templates import line_locator, render_template, template_environment
from newsletter.render.theme import direction, theme_context
from newsletter.render.tokens import SubscriberTokens, token

HTML_TEMPLATE = "digest.mjml.j2"
TEXT_TEMPLATE = "digest.txt.j2"
PREHEADER_CHARS = 140
# After the preheader: invisible characters so that clients do not fill the inbox preview line with
# the body's first words ("View in browser", the menu...). Soft hyphens and zero-width no-break
# spaces: text renderings (w3m, lynx, the plain view of many clients) drop both, where the usual
# non-breaking spaces and joiners show as a line of filler at the top.
PREHEADER_PADDING = "\u00ad\ufeff" * 60
# A card's summary is cut near this many characters (about three lines beside a thumbnail); the
# headline keeps its whole summary.
CARD_SUMMARY_CHARS = 200
log = logging.getLogger(__name__)

LABELS = {
    "en": {
        "read_more": "Read more",
        "top_story": "Top story",
        "watch_video": "Watch Video",
        "video": "Video",
        "further": "More news",
        "view_in_browser": "View in browser",
        "unsubscribe": "Unsubscribe",
        "why": "You receive this email because you subscribed to {name}.",
    },
    "fr": {
        "read_more": "Lire la suite",
        "top_story": "À la une",
        "watch_video": "Voir la vidéo",
        "video": "Vidéo",
        "further": "Autres nouvelles",
        "view_in_browser": "Voir dans le navigateur",
        "unsubscribe": "Se désabonner",
        "why": "Vous recevez ce courriel car vous êtes abonné(e) à {name}.",
    },
}


def sender_name(settings: Settings) -> str:
    from email.utils import parseaddr

    name, address = parseaddr(settings.sender.from_)
    return name or settings.newsletter.name or address


def format_day(day: datetime, settings: Settings) -> str:
    try:
        return format_date(day.date(), format=settings.theme.date_format, locale=settings.newsletter.language)
    except (UnknownLocaleError, ValueError) as exc:
        raise RenderError(
            f"cannot format the date for language {settings.newsletter.language!r}: {exc}",
            hint="set [newsletter] language to a code such as en, fr or de-CH",
        ) from exc


def subject_for(settings: Settings, issue: Issue) -> str:
    values = {
        "name": settings.newsletter.name,
        "date": format_day(issue.period.end, settings),
        "headline": issue.headline.title if issue.headline else "",
    }
    try:
        return settings.issue.subject.format(**values)
    except (KeyError, IndexError, ValueError) as exc:
        raise RenderError(
            f"[issue] subject {settings.issue.subject!r}: unknown placeholder {exc}",
            hint="use {name}, {date} or {headline}",
        ) from exc


def _item_context(item: Item, settings: Settings, labels: dict[str, str], since: datetime) -> dict[str, Any]:
    """What a template sees of an item. ``date`` is set only for a story older than the issue's
    period: the issue's own date already says when the rest happened."""
    older = item.published is not None and item.published < since
    return {
        **item.to_dict(),
        "date": format_day(item.published, settings) if older and item.published else "",
        "datetime": item.published.date().isoformat() if item.published else "",
        "cta": labels["watch_video"] if item.is_video else labels["read_more"],
        # filled in when the image's size is known (the image pipeline sets these on the item)
        "image_width": int(getattr(item, "image_width", 0) or 0),
        "image_height": int(getattr(item, "image_height", 0) or 0),
        "image_alt": str(getattr(item, "image_alt", "") or ""),
    }


def shorten(text: str, limit: int = CARD_SUMMARY_CHARS) -> str:
    """``text`` cut to about ``limit`` characters: at the end of a sentence when one ends in the last
    third, else at a word, with an ellipsis. A text at most a tenth over the limit is left whole."""
    if len(text) <= limit * 11 // 10:
        return text
    head = text[: limit + 1]
    sentence = max(head.rfind(". "), head.rfind("! "), head.rfind("? "))
    if sentence >= limit * 2 // 3:
        return head[: sentence + 1]
    return head.rsplit(" ", 1)[0].rstrip(" ,;:–—-") + "…"


def teasers_of(issue: Issue, count: int) -> list[Item]:
    """The headline first, then videos, then the other cards."""
    head = [issue.headline] if issue.headline else []
    videos = [c for c in issue.cards if c.is_video]
    others = [c for c in issue.cards if not c.is_video]
    return (head + videos + others)[:count]


def archive_url(settings: Settings, period_key: str) -> str:
    return f"{settings.web.base_url.rstrip('/')}/archive/{period_key}"


def context_for(settings: Settings, issue: Issue) -> dict[str, Any]:
    lang = settings.newsletter.language.split("-")[0].lower()
    labels = dict(LABELS.get(lang, LABELS["en"]))
    labels["why"] = labels["why"].format(name=settings.newsletter.name)
    teasers = teasers_of(issue, settings.issue.teasers)
    preheader = " · ".join(t.title for t in teasers or issue.items[:2])
    if len(preheader) > PREHEADER_CHARS:
        preheader = preheader[: PREHEADER_CHARS - 1].rsplit(" ", 1)[0] + "…"

    def ctx(item: Item) -> dict[str, Any]:
        return _item_context(item, settings, labels, issue.period.start)

    def card(item: Item) -> dict[str, Any]:
        values = ctx(item)
        values["summary"] = shorten(values["summary"])
        return values

    return {
        "newsletter": {
            "name": settings.newsletter.name,
            "language": settings.newsletter.language,
            "direction": direction(settings.newsletter.language),
        },
        "sender": {"name": sender_name(settings), "postal_address": settings.sender.postal_address},
        "theme": theme_context(settings),
        "slots": SLOTS,
        "labels": labels,
        "issue": {
            "date": format_day(issue.period.end, settings),
            "datetime": issue.period.end.date().isoformat(),
            "key": issue.period.key,
        },
        "subject": subject_for(settings, issue),
        "preheader": preheader,
        "preheader_padding": PREHEADER_PADDING,
        "teasers": [ctx(i) for i in teasers],
        "headline": ctx(issue.headline) if issue.headline else None,
        "cards": [card(i) for i in issue.cards],
        "links": [ctx(i) for i in issue.links],
        "subscriber": SubscriberTokens(),
        "unsubscribe_url": token("unsubscribe_url"),
        "archive_url": archive_url(settings, issue.period.key),
    }


@functools.lru_cache(maxsize=8)
def _environment(user: Path | None, files: frozenset[str]) -> jinja2.Environment:
    """One environment per templates folder and set of files in it: Jinja compiles each template once
    and again when its file changes (it checks the file's time at each render); a file added to or
    removed from the folder gives a new environment, so a new override is seen at once."""
    return template_environment(user)


def environment_for(settings: Settings) -> jinja2.Environment:
    user = settings.path(settings.newsletter.templates) if settings.newsletter.templates else None
    files = (
        frozenset(str(p) for p in user.rglob("*.j2")) if user is not None and user.is_dir() else frozenset()
    )
    return _environment(user, files)


def render_once(settings: Settings, issue: Issue, env: jinja2.Environment | None = None) -> RenderedIssue:
    """One pass through Jinja, MJML and premailer, with no size check."""
    if env is None:
        env = environment_for(settings)
    context = context_for(settings, issue)
    mjml_source = render_template(env, HTML_TEMPLATE, context)
    # The locator reads the template files only when there is an error to report.
    html = inline_css(mjml_to_html(mjml_source, HTML_TEMPLATE, lambda lines, i: line_locator(env)(lines, i)))
    text = render_template(env, TEXT_TEMPLATE, context)
    text = re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"
    return RenderedIssue(
        subject=context["subject"],
        preheader=context["preheader"],
        html=html,
        text=text,
        period_key=issue.period.key,
    )


def render_issue(settings: Settings, issue: Issue) -> RenderedIssue:
    """Render the issue; cards that would push the HTML past the size budget move to further links.

    Gmail clips an email near 102 KB, hiding what follows (the unsubscribe link among it): rather
    than be clipped, the last cards become further links (titles only), with a warning.
    """
    env = environment_for(settings)
    rendered = render_once(settings, issue, env)
    budget = settings.issue.max_html_bytes
    size = html_bytes(rendered)
    if size <= budget or not issue.cards:
        return _over_budget(rendered, size, budget) if size > budget else rendered
    base = html_bytes(render_once(settings, replace(issue, cards=()), env))
    first_size, moved_total = size, 0
    while size > budget and issue.cards:
        per_card = max(1, (size - base) // len(issue.cards))
        move = max(1, -(-(size - budget) // per_card))
        keep = max(0, len(issue.cards) - move)
        moved = issue.cards[keep:]
        moved_total += len(moved)
        issue = replace(issue, cards=issue.cards[:keep], links=moved + issue.links)
        rendered = render_once(settings, issue, env)
        size = html_bytes(rendered)
    warning = (
        f"the email would be {first_size:,} bytes, over the {budget:,}-byte budget "
        f"([issue] max_html_bytes): moved the last {moved_total} card(s) to the further links"
    )
    log.info(warning)
    rendered = replace(rendered, warnings=(warning,))
    return _over_budget(rendered, size, budget) if size > budget else rendered


def html_bytes(rendered: RenderedIssue) -> int:
    return len(rendered.html.encode("utf-8"))


def _over_budget(rendered: RenderedIssue, size: int, budget: int) -> RenderedIssue:
    """Even without cards the email is too big: say so (Gmail will clip it)."""
    warning = (
        f"the email is {size:,} bytes even without cards, over the {budget:,}-byte budget: "
        "Gmail may clip it; shorten the templates or the further links"
    )
    return replace(rendered, warnings=(*rendered.warnings, warning))
