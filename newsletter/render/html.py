"""MJML -> HTML (mjml-python) and CSS inlining (premailer), configured as the design requires."""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Callable

from lxml import etree
from mjml import mjml2html
from premailer import Premailer

from newsletter.errors import RenderError

_DOCTYPE = re.compile(r"^\s*<!doctype html>", re.IGNORECASE)
# MJML's own reset block (``#outlook a {...} table, td {...} img {...}``) is for the <head> only:
# inlined, it would add ~70 bytes to every table cell of the email (about 15% of its size).
_MJML_RESET = re.compile(r'<style type="text/css">(\s*#outlook a)')
# MJML's own @media blocks hold nothing to inline: premailer need not parse them.
_MJML_MEDIA = re.compile(r'<style type="text/css">(\s*@media)')
# What the reference MJML compiler does and mjml-python does not: adjacent Outlook conditional
# comments merged into one, and the whitespace between tags inside them removed.
_ADJACENT_CONDITIONALS = re.compile(r"<!\[endif\]-->\s*<!--\[if mso \| IE\]>")
_CONDITIONAL = re.compile(r"(<!--\[if [^\]]+\]>)(.*?)(<!\[endif\]-->)", re.S)
_BETWEEN_TAGS = re.compile(r">\s+<")
# mjml-python writes vertical-align as an HTML attribute (on mj-button's cell): no such attribute exists.
_VERTICAL_ALIGN_ATTRIBUTE = re.compile(r' vertical-align="[^"]*"')
# The preheader: hidden by display and size, not by colour. White text on white is what spam filters
# score (SpamAssassin's HTML_FONT_LOW_CONTRAST).
_PREVIEW_STYLE = re.compile(r'<div style="display:none;font-size:1px;color:#ffffff;[^"]*">')
PREVIEW_STYLE = (
    '<div style="display:none;max-height:0px;max-width:0px;opacity:0;overflow:hidden;mso-hide:all;">'
)


# Every MJML 4 tag: mjml-python passes a misspelt one through as raw HTML, so we check names ourselves.
MJML_TAGS = frozenset(
    [
        "mjml",
        "mj-head",
        "mj-body",
        "mj-attributes",
        "mj-all",
        "mj-class",
        "mj-breakpoint",
        "mj-font",
        "mj-html-attributes",
        "mj-html-attribute",
        "mj-selector",
        "mj-preview",
        "mj-style",
        "mj-title",
        "mj-raw",
        "mj-include",
        "mj-accordion",
        "mj-accordion-element",
        "mj-accordion-title",
        "mj-accordion-text",
        "mj-button",
        "mj-carousel",
        "mj-carousel-image",
        "mj-column",
        "mj-divider",
        "mj-group",
        "mj-hero",
        "mj-image",
        "mj-navbar",
        "mj-navbar-link",
        "mj-section",
        "mj-social",
        "mj-social-element",
        "mj-spacer",
        "mj-table",
        "mj-text",
        "mj-wrapper",
    ]
)
_TAG = re.compile(r"<(/?)(mjml|mj-[a-zA-Z0-9-]+)\b(?:[^>\"']|\"[^\"]*\"|'[^']*')*?(/?)>")
# Inside these, content is HTML or CSS that MJML copies as is: no mj- tag belongs there.
_RAW_CONTENT = frozenset({"mj-text", "mj-button", "mj-raw", "mj-table", "mj-style", "mj-title", "mj-preview"})
Locator = Callable[[list[str], int], str]  # rendered lines, index -> template file:line


def mjml_to_html(source: str, template: str, locate: Locator | None = None) -> str:
    """Compile MJML; a problem is reported with the template file and line it came from.

    ``locate`` turns a line of the rendered MJML into ``file:line`` of the template that wrote it.
    """
    problem = check_mjml(source)
    if problem is None:
        try:
            return tidy(mjml2html(source, fonts={}, disable_comments=True))
        except (ValueError, RuntimeError) as exc:
            problem = (_xml_error_line(source) or 0, str(exc))
    line, message = problem
    where = _where(source, line, template, locate)
    raise RenderError(
        f"invalid MJML at {where}: {message}",
        hint="check that every mj- tag is spelled right and closed (mjml.io/documentation lists them)",
    )


def tidy(html: str) -> str:
    """mjml-python's output made as small as the reference compiler's, and valid."""
    html = _ADJACENT_CONDITIONALS.sub("", html)
    html = _CONDITIONAL.sub(
        lambda m: m.group(1) + _BETWEEN_TAGS.sub("><", m.group(2)).strip() + m.group(3), html
    )
    html = _VERTICAL_ALIGN_ATTRIBUTE.sub("", html)
    return _PREVIEW_STYLE.sub(PREVIEW_STYLE, html, count=1)


def check_mjml(source: str) -> tuple[int, str] | None:
    """The first unknown or unbalanced mj- tag, as (line, message); None when the tags are sound."""
    stack: list[tuple[str, int]] = []
    for match in _TAG.finditer(source):
        closing, name, self_closing = match.group(1), match.group(2).lower(), match.group(3)
        line = source.count("\n", 0, match.start()) + 1
        if stack and stack[-1][0] in _RAW_CONTENT and not (closing and name == stack[-1][0]):
            opened, at = stack[-1]
            return at, f"<{opened}> is not closed before <{closing}{name}> on rendered line {line}"
        if name not in MJML_TAGS:
            return line, f"unknown tag <{name}>"
        if self_closing:
            continue
        if not closing:
            stack.append((name, line))
        elif not stack:
            return line, f"</{name}> closes nothing"
        elif stack[-1][0] != name:
            opened, at = stack[-1]
            return at, f"<{opened}> is not closed (</{name}> found on rendered line {line})"
        else:
            stack.pop()
    if stack:
        opened, at = stack[-1]
        return at, f"<{opened}> is not closed"
    return None


def _where(source: str, line: int, template: str, locate: Locator | None) -> str:
    if line <= 0:
        return template
    lines = source.splitlines()
    found = locate(lines, line - 1) if locate and line <= len(lines) else ""
    return found or f"{template} (rendered MJML line {line})"


def _xml_error_line(source: str) -> int | None:
    try:
        etree.fromstring(source.encode("utf-8"), etree.XMLParser(recover=False, resolve_entities=False))
    except etree.XMLSyntaxError as exc:
        return int(exc.lineno or 0) or None
    return None


def inline_css(html: str) -> str:
    """Inline the CSS. Every option here is deliberate (see DESIGN.md):

    - the doctype is upper-cased first: premailer drops a lower-case ``<!doctype html>``;
    - ``strip_important=False``: the @media widths must keep their !important or columns collapse;
    - ``allow_network=False``: premailer would fetch remote CSS, with no timeout;
    - no ``base_url``: it would rewrite the @@token@@ placeholders inside links;
    - style tags kept (media queries and dark mode live there); cssutils kept quiet;
    - MJML's reset styles stay in the head, not inlined into every cell (``data-premailer="ignore"``),
      and its @media blocks are not parsed (nothing in them can be inlined);
    - no ``align`` added to floating images: the templates write it (premailer parses each image's
      style with cssutils for that, which cost more than all the rest of the inlining).
    """
    html = _DOCTYPE.sub("<!DOCTYPE html>", html, count=1)
    html = _MJML_RESET.sub(r'<style type="text/css" data-premailer="ignore">\1', html, count=1)
    html = _MJML_MEDIA.sub(r'<style type="text/css" data-premailer="ignore">\1', html)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        inliner = Premailer(
            html,
            strip_important=False,
            allow_network=False,
            keep_style_tags=True,
            remove_classes=False,
            disable_validation=True,
            # the templates write align= beside float themselves; premailer would parse each
            # image's style with cssutils to do it, most of its time
            align_floating_images=False,
            cssutils_logging_level=logging.CRITICAL,
        )
        try:
            out = inliner.transform(pretty_print=False)
        except Exception as exc:  # premailer raises bare library errors on broken CSS
            raise RenderError(
                f"CSS inlining failed: {exc}", hint="check the CSS in your mj-style blocks"
            ) from exc
    if not out.lstrip().upper().startswith("<!DOCTYPE"):
        out = "<!DOCTYPE html>\n" + out
    return out
