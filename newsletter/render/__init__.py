"""Issue + templates -> RenderedIssue. The only code that knows Jinja2, MJML or premailer.

Rendering runs once per issue. Per-recipient values appear as ``@@token@@`` placeholders
(see ``newsletter.render.tokens``) that ``compose`` fills in for each subscriber.
"""

from __future__ import annotations

from newsletter.render.issue import render_issue, subject_for
from newsletter.render.templates import template_environment

__all__ = ["render_issue", "subject_for", "template_environment"]
