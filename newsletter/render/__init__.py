"""Issue + templates -> RenderedIssue. The only code that knows Jinja2, MJML or premailer.

Rendering runs once per issue. Per-recipient values appear as ``@@token@@`` placeholders
(see ``newsletter.render.tokens``) that ``compose`` fills in for each subscriber.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from newsletter.render.issue import render_issue, subject_for
    from newsletter.render.templates import template_environment

__all__ = ["render_issue", "subject_for", "template_environment"]


def __getattr__(name: str) -> Any:
    """The renderer's stack (Jinja2, MJML, premailer, lxml: about 40 MB of RSS) loads when a renderer
    is first asked for: ``compose`` imports ``newsletter.render.tokens`` alone, so a process that only
    composes and sends does not load it."""
    if name in ("render_issue", "subject_for"):
        from newsletter.render import issue

        return getattr(issue, name)
    if name == "template_environment":
        from newsletter.render import templates

        return templates.template_environment
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
