"""What goes in, per source: its ``categories``, ``include`` and ``exclude`` rules over an entry.

Rules are searched in the entry's title, its whole summary (before it is cut for the email) and
each of its categories, separately (a phrase never spans two of them). The syntax of a rule is
``config.filter_pattern``'s: a word or phrase matched whole in any case, or a ``/regular
expression/``. An entry is left out when it matches an ``exclude`` rule, when the source keeps
``categories`` and it is filed under none of them, or when the source has ``include`` rules and it
matches none; the reason names the rule, for `newsletter collect --explain`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from newsletter.config import SourceSection, filter_pattern


@dataclass(frozen=True, slots=True)
class LeftOut:
    """An entry a source yielded that reading it left out, and why (for `collect --explain`)."""

    title: str
    link: str
    published: datetime | None
    reason: str


def left_out_by(source: SourceSection, title: str, summary: str, categories: Sequence[str] | None) -> str:
    """Why the source's rules leave this entry out ("" when they keep it). ``categories`` None: the
    kind of source has none (an items file), so ``categories`` does not apply."""
    if not (source.include or source.exclude or source.categories):
        return ""
    fields = (("title", title), ("summary", summary), *(("category", c) for c in categories or ()))
    for rule in source.exclude:
        where = _match(rule, fields)
        if where:
            return f"filtered by exclude {rule!r} (in the {where})"
    if source.categories and categories is not None:
        wanted = {c.strip().casefold() for c in source.categories}
        if not any(c.strip().casefold() in wanted for c in categories):
            filed = ", ".join(categories) if categories else "no category"
            return f"filtered by categories: filed under {filed}"
    if source.include and not any(_match(rule, fields) for rule in source.include):
        return "filtered by include: matches none of " + ", ".join(repr(r) for r in source.include)
    return ""


def _match(rule: str, fields: Sequence[tuple[str, str]]) -> str:
    """The name of the first field the rule is found in, or ""."""
    pattern = filter_pattern(rule)
    return next((name for name, text in fields if text and pattern.search(text)), "")
