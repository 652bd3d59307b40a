"""MJML -> HTML (mjml-python) and CSS inlining (premailer), configured as the design requires."""

from __future__ import annotations

import logging
import re
import warnings

from lxml import etree
from mjml import mjml2html
from premailer import Premailer

from newsletter.errors import RenderError

_DOCTYPE = re.compile(r"^\s*<!doctype html>", re.IGNORECASE)


def mjml_to_html(source: str, template: str) -> str:
    """Compile MJML. mjml-python does not say where an error is, so we ask an XML parser for the line."""
    try:
        return mjml2html(source, fonts={}, disable_comments=True)
    except (ValueError, RuntimeError) as exc:
        line = _xml_error_line(source)
        where = f"{template} (rendered MJML line {line})" if line else template
        raise RenderError(
            f"invalid MJML from template {where}: {exc}",
            hint="check that every mj- tag is closed and spelled right",
        ) from exc


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
    - style tags kept (media queries and dark mode live there); cssutils kept quiet.
    """
    html = _DOCTYPE.sub("<!DOCTYPE html>", html, count=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        inliner = Premailer(
            html,
            strip_important=False,
            allow_network=False,
            keep_style_tags=True,
            remove_classes=False,
            disable_validation=True,
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
