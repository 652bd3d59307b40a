"""The Jinja2 environment: a user's folder first, the shipped defaults behind it.

A user template can extend a default one with ``{% extends "!default/digest.mjml.j2" %}``.
Autoescaping is on for every template (``select_autoescape`` would not cover .mjml) and undefined
variables are errors.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

import jinja2

import newsletter
from newsletter.errors import RenderError

DEFAULT_PREFIX = "!default"


def default_templates() -> Path:
    """The default templates: inside the installed package, or templates/ in a source checkout."""
    here = Path(newsletter.__file__).parent
    for candidate in (here / "templates", here.parent / "templates"):
        if (candidate / "digest.mjml.j2").is_file():
            return candidate
    raise RenderError("the default templates are missing from this installation", hint="reinstall newsletter")


def template_environment(user_folder: Path | None = None) -> jinja2.Environment:
    defaults = jinja2.FileSystemLoader(str(default_templates()))
    loaders: list[jinja2.BaseLoader] = []
    if user_folder is not None:
        if not user_folder.is_dir():
            raise RenderError(
                f"templates folder {user_folder} does not exist",
                hint="fix [newsletter] templates in the config, or run `newsletter init` to copy the defaults",
            )
        loaders.append(jinja2.FileSystemLoader(str(user_folder)))
    loaders += [defaults, jinja2.PrefixLoader({DEFAULT_PREFIX: defaults}, delimiter="/")]
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=_autoescape,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["wrap"] = wrap_text
    return env


def _autoescape(name: str | None) -> bool:
    """Every template is HTML-escaped except the plain-text part's."""
    return not (name or "").endswith(".txt.j2")


def wrap_text(value: str, width: int = 78, indent: str = "") -> str:
    """Wrap plain text for the text part; URLs are never broken."""
    return textwrap.fill(
        str(value),
        width=width,
        initial_indent=indent,
        subsequent_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
    )


def render_template(env: jinja2.Environment, name: str, context: dict) -> str:
    """Render one template; any Jinja error becomes a RenderError naming the file and line."""
    try:
        return env.get_template(name).render(context)
    except jinja2.TemplateSyntaxError as exc:
        where = f"{exc.filename or exc.name or name}:{exc.lineno}"
        raise RenderError(
            f"template {where}: {exc.message}", hint="fix the template syntax at that line"
        ) from exc
    except jinja2.TemplateNotFound as exc:
        raise RenderError(
            f"template {exc.name} not found (rendering {name})",
            hint="check the name, or remove the override from your templates folder",
        ) from exc
    except jinja2.UndefinedError as exc:
        raise RenderError(
            f"template {_template_line(exc.__traceback__) or name}: {exc.message}",
            hint="check the variable name; the README lists what templates can use",
        ) from exc


def _template_line(tb: TracebackType | None) -> str:
    """The innermost template frame in a traceback, as file:line (Jinja rewrites frames to template lines)."""
    found = ""
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.endswith(".j2"):
            found = f"{filename}:{tb.tb_lineno}"
        tb = tb.tb_next
    return found


_JINJA_CODE = re.compile(r"({{.*?}}|{%.*?%}|{#.*?#})")


def line_locator(env: jinja2.Environment, suffix: str = ".mjml.j2") -> Callable[[list[str], int], str]:
    """A function from a line of rendered output to ``file:line`` of the template line that wrote it.

    MJML is checked after Jinja has run, so its errors point into the rendered text; this finds the
    template line whose literal parts match it. When several do (``<mj-column>`` is everywhere), the
    one whose neighbours also match the rendered line's neighbours wins; the user's files come first.
    """
    files: list[tuple[str, list[re.Pattern[str] | None]]] = []
    seen: set[str] = set()
    for name in sorted(env.list_templates(filter_func=lambda n: n.endswith(suffix)), key=_user_first):
        try:
            source, filename, _ = env.loader.get_source(env, name)  # type: ignore[union-attr]
        except jinja2.TemplateNotFound:
            continue
        if filename is None or filename in seen:
            continue
        seen.add(filename)
        files.append((filename, [_line_pattern(line) for line in source.splitlines()]))

    def locate(rendered: list[str], index: int) -> str:
        best, where = 0, ""
        for filename, patterns in files:
            for number, pattern in enumerate(patterns):
                if pattern is None or not pattern.fullmatch(rendered[index].strip()):
                    continue
                score = 1 + _neighbours(patterns, number, rendered, index)
                if score > best:
                    best, where = score, f"{filename}:{number + 1}"
        return where

    return locate


def _line_pattern(line: str) -> re.Pattern[str] | None:
    """A template line as a regex over its output: literal text kept, Jinja code matching anything."""
    parts = _JINJA_CODE.split(line.strip())
    if len("".join(parts[0::2]).strip()) < 4:
        return None
    return re.compile("".join(re.escape(p) if i % 2 == 0 else ".*?" for i, p in enumerate(parts)))


def _neighbours(patterns: list[re.Pattern[str] | None], number: int, rendered: list[str], index: int) -> int:
    """How many of the 3 rendered lines on each side match template lines near the candidate's."""
    score = 0
    for step in (-1, 1):
        for distance in range(1, 4):
            i = index + step * distance
            if not 0 <= i < len(rendered):
                break
            text = rendered[i].strip()
            window = patterns[max(0, number + step * distance - 2) : number + step * distance + 3]
            score += any(p is not None and p.fullmatch(text) for p in window)
    return score


def _user_first(name: str) -> tuple[bool, str]:
    return name.startswith(DEFAULT_PREFIX), name
