"""Render benchmark: a headline + 12 cards + 1 video + 6 further links issue, built from the NATO example.

Prints the milliseconds of each stage (Jinja, MJML, premailer, plain text) and the bytes of the HTML
after inlining, against the size budget, then the two figures the templates are held to (the HTML's
bytes and render_issue's median time) as ratios to their targets (under 1.00 meets the target).
Run from the repository:

    python bench/render.py [--runs 20]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from newsletter import store
from newsletter.collect import collect
from newsletter.config import Settings, load_settings
from newsletter.models import Issue, Item
from newsletter.render.html import inline_css, mjml_to_html
from newsletter.render.issue import HTML_TEMPLATE, TEXT_TEMPLATE, context_for, render_issue
from newsletter.render.templates import render_template, template_environment

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "nato" / "newsletter.toml"
# What this issue may cost: bytes of HTML after inlining, and milliseconds of render_issue.
TARGET_BYTES = 62_000
TARGET_MS = 25.0


def example_issue(settings: Settings) -> Issue:
    """The example's issue of 17 November 2023, collected into a throwaway database."""
    with tempfile.TemporaryDirectory() as tmp:
        engine = store.open_engine(f"sqlite:///{tmp}/bench.db")
        as_of = datetime(2023, 11, 17, 23, 59, tzinfo=ZoneInfo(settings.newsletter.timezone))
        issue, _ = collect(settings, engine, as_of)
        engine.dispose()
    return issue


def big_issue(issue: Issue, cards: int = 12, links: int = 6) -> Issue:
    """Headline + ``cards`` story cards + the video + ``links`` further links, varying repeated items."""
    stories = [c for c in issue.cards if not c.is_video]
    videos = [c for c in issue.cards if c.is_video][:1]
    pool = stories + list(issue.links)

    def variant(item: Item, n: int) -> Item:
        if n == 0:
            return item
        return replace(item, title=f"{item.title} ({n + 1})", link=f"{item.link}?v={n + 1}")

    more_cards = [variant(stories[i % len(stories)], i // len(stories)) for i in range(cards)]
    more_links = [variant(pool[(i + len(stories)) % len(pool)], 1 + i // len(pool)) for i in range(links)]
    return replace(issue, cards=tuple(more_cards + videos), links=tuple(more_links))


def timed(runs: int, func):  # type: ignore[no-untyped-def]
    times = []
    result = None
    for _ in range(runs):
        start = time.perf_counter()
        result = func()
        times.append((time.perf_counter() - start) * 1000)
    return result, statistics.median(times), min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--runs", type=int, default=20, help="repetitions per stage (median and best printed)"
    )
    parser.add_argument("--config", type=Path, default=EXAMPLE)
    args = parser.parse_args()

    settings = load_settings(args.config)
    issue = big_issue(example_issue(settings))
    videos = sum(1 for c in issue.cards if c.is_video)
    print(
        f"issue: headline + {len(issue.cards) - videos} cards + {videos} video + {len(issue.links)} further links"
    )
    env = template_environment(
        settings.path(settings.newsletter.templates) if settings.newsletter.templates else None
    )
    context = context_for(settings, issue)
    mjml, jinja_ms, jinja_best = timed(args.runs, lambda: render_template(env, HTML_TEMPLATE, context))
    raw, mjml_ms, mjml_best = timed(args.runs, lambda: mjml_to_html(mjml, HTML_TEMPLATE))
    html, inline_ms, inline_best = timed(args.runs, lambda: inline_css(raw))
    text, text_ms, text_best = timed(args.runs, lambda: render_template(env, TEXT_TEMPLATE, context))
    _, total_ms, total_best = timed(args.runs, lambda: render_issue(settings, issue))

    print(f"{'stage':<22}{'median ms':>10}{'best ms':>10}")
    for name, median, best in (
        ("jinja (mjml template)", jinja_ms, jinja_best),
        ("mjml -> html", mjml_ms, mjml_best),
        ("premailer (inline)", inline_ms, inline_best),
        ("jinja (text part)", text_ms, text_best),
        ("render_issue, total", total_ms, total_best),
    ):
        print(f"{name:<22}{median:>10.2f}{best:>10.2f}")
    budget = settings.issue.max_html_bytes
    size = len(html.encode("utf-8"))
    print(f"mjml source: {len(mjml.encode()):,} bytes; html before inlining: {len(raw.encode()):,} bytes")
    print(
        f"html after inlining: {size:,} bytes ({size / 1024:.1f} KB); budget {budget:,} bytes: {'OK' if size <= budget else 'OVER'}"
    )
    print(f"text part: {len(text.encode()):,} bytes")
    per_card = (
        size
        - len(
            inline_css(
                mjml_to_html(
                    render_template(env, HTML_TEMPLATE, context_for(settings, replace(issue, cards=()))),
                    HTML_TEMPLATE,
                )
            ).encode()
        )
    ) / len(issue.cards)
    print(f"about {per_card / 1024:.1f} KB per card")
    print(f"{'target':<22}{'measured':>12}{'target':>12}{'ratio':>8}")
    print(f"{'html bytes':<22}{size:>12,}{TARGET_BYTES:>12,}{size / TARGET_BYTES:>8.2f}")
    print(f"{'render_issue ms':<22}{total_ms:>12.2f}{TARGET_MS:>12.2f}{total_ms / TARGET_MS:>8.2f}")


if __name__ == "__main__":
    main()
