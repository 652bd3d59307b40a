"""What goes in, per source: categories, include / exclude rules, min_age and limit, and
`newsletter collect --explain` saying of every entry why it is in or out."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from conftest import run_cli

from newsletter import store
from newsletter.collect import as_of_moment
from newsletter.config import load_settings
from newsletter.pipeline import send
from newsletter.transports.memory import MemoryTransport

WEEK = "Thu, 16 Nov 2023 10:00:00 +0100"


def entry(
    title: str, link: str, when: str = WEEK, *, categories: tuple[str, ...] = (), text: str = ""
) -> str:
    filed = "".join(f"<category>{c}</category>" for c in categories)
    linked = f"<link>{link}</link>" if link else ""
    return (
        f"<item><title>{title}</title>{linked}<pubDate>{when}</pubDate>"
        f"<description>{text}</description>{filed}</item>"
    )


def rss(*entries: str) -> str:
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>F</title>'
        f"<link>http://e.org/</link>{''.join(entries)}</channel></rss>"
    )


def write_config(folder: Path, source: str, issue: str = "") -> Path:
    (folder / "subscribers.csv").write_text("email,name\nada@example.org,Ada\n")
    config = folder / "newsletter.toml"
    config.write_text(
        '[newsletter]\nname = "T"\ntimezone = "Europe/Brussels"\ndatabase = "n.db"\n'
        '[subscribers]\ncsv = "subscribers.csv"\n'
        f"[issue]\n{issue}\n"
        f"[[sources]]\n{source}\n"
    )
    return config


def explained(config: Path, day: str = "2023-11-17") -> dict[str, tuple[str, str]]:
    """`collect --explain`, piped: each entry's title -> (in or out, why)."""
    result = run_cli("--config", str(config), "collect", "--explain", "--as-of", day)
    assert result.returncode == 0, result.stderr
    rows = [line.split("\t") for line in result.stdout.splitlines() if line.count("\t") == 5]
    return {r[2]: (r[0], r[4]) for r in rows if r[0] in ("in", "out")}


def test_categories_and_rules_decide_and_explain_says_why(http_dir: tuple[Path, str]) -> None:
    folder, base = http_dir
    (folder / "feed.xml").write_text(
        rss(
            entry("Allies agree on defence spending", "http://e.org/1", categories=("Defence",)),
            entry("Sponsored: buy our book", "http://e.org/2", categories=("Defence",)),
            entry("Weekly award ceremony", "http://e.org/3", categories=("Events", "People")),
            entry("Ministers meet", "http://e.org/4", categories=("Defence",), text="On the war in Ukraine."),
            entry("Football results", "http://e.org/5", categories=("Sport",)),
            entry("Nothing filed", "http://e.org/6"),
            entry("Old news", "http://e.org/7", "Sun, 01 Oct 2023 10:00:00 +0200", categories=("Defence",)),
            entry("No address", "", categories=("Defence",)),
            entry("Marked as promotion", "http://e.org/8", categories=("defence", "PROMO")),
        )
    )
    config = write_config(
        folder.parent,
        f'name = "News"\nurl = "{base}/feed.xml"\ncategories = ["defence", "events"]\n'
        'exclude = ["/^Sponsored\\\\b/", "war", "promo"]',
    )
    verdicts = explained(config)
    assert verdicts == {
        "Allies agree on defence spending": ("in", "headline"),
        "Weekly award ceremony": ("in", "card 1"),  # "war" is a whole word: not in "award"
        "Sponsored: buy our book": ("out", "filtered by exclude '/^Sponsored\\\\b/' (in the title)"),
        "Ministers meet": ("out", "filtered by exclude 'war' (in the summary)"),
        "Marked as promotion": ("out", "filtered by exclude 'promo' (in the category)"),
        "Football results": ("out", "filtered by categories: filed under Sport"),
        "Nothing filed": ("out", "filtered by categories: filed under no category"),
        "Old news": ("out", "outside the window"),
        "No address": ("out", "no http(s) link"),
    }
    shown = run_cli("--config", str(config), "draft", "show", "--as-of", "2023-11-17").stdout
    assert "Allies agree" in shown and "Weekly award" in shown and "Ministers meet" not in shown


def test_include_keeps_only_what_matches_and_limit_keeps_the_newest(http_dir: tuple[Path, str]) -> None:
    folder, base = http_dir
    (folder / "feed.xml").write_text(
        rss(
            entry("NATO summit opens", "http://e.org/1", "Thu, 16 Nov 2023 10:00:00 +0100"),
            entry("A nato exercise ends", "http://e.org/2", "Wed, 15 Nov 2023 10:00:00 +0100"),
            entry("Weather report", "http://e.org/3", "Thu, 16 Nov 2023 11:00:00 +0100"),
            entry("Natological studies", "http://e.org/4", "Thu, 16 Nov 2023 12:00:00 +0100"),
        )
    )
    config = write_config(
        folder.parent, f'name = "News"\nurl = "{base}/feed.xml"\ninclude = ["nato", "/^Summit/i"]\nlimit = 1'
    )
    verdicts = explained(config)
    assert verdicts["NATO summit opens"] == ("in", "headline")
    assert verdicts["A nato exercise ends"] == ("out", "over the source's limit of 1")
    rule = "filtered by include: matches none of 'nato', '/^Summit/i'"
    assert verdicts["Weather report"] == verdicts["Natological studies"] == ("out", rule)


def test_a_story_held_back_by_min_age_is_in_the_next_issue(tmp_path: Path) -> None:
    feed = tmp_path / "news.xml"
    settled = entry("Settled story", "http://e.org/1", "Thu, 16 Nov 2023 10:00:00 +0100")
    # Three hours before the cutoff (the end of Friday 17 November): younger than six hours.
    fresh = entry("Breaking story", "http://e.org/2", "Fri, 17 Nov 2023 21:00:00 +0100")
    feed.write_text(rss(settled, fresh))
    config = write_config(tmp_path, 'name = "News"\npath = "news.xml"\nmin_age = "6h"')
    verdicts = explained(config)
    assert verdicts["Breaking story"] == ("out", "too young (min_age 6h): waits for the next issue")
    settings = load_settings(config)
    engine = store.open_engine(settings.database_url)
    transport = MemoryTransport()
    for day in ("2023-11-17", "2023-11-24"):
        send(settings, engine, as_of_moment(date.fromisoformat(day), settings.zone), transport=transport)
    first, second = (message.decode("utf-8", "replace") for _, _, message in transport.sent)
    assert "Settled story" in first and "Breaking story" not in first
    assert "Breaking story" in second and "Settled story" not in second


@pytest.mark.sqlite_only  # the config is refused before any database is opened
@pytest.mark.parametrize(
    ("line", "said"),
    [
        (
            'exclude = ["/(unclosed/"]',
            "sources[1].exclude: Value error, '/(unclosed/' is not a valid regular",
        ),
        ('include = ["  "]', "sources[1].include: Value error, an empty rule matches everything"),
        ('min_age = "soon"', "sources[1].min_age: Value error, expected a number and a unit"),
    ],
)
def test_a_bad_rule_stops_every_command_naming_the_key(tmp_path: Path, line: str, said: str) -> None:
    (tmp_path / "news.xml").write_text(rss(entry("A story", "http://e.org/1")))
    config = write_config(tmp_path, f'name = "News"\npath = "news.xml"\n{line}')
    for command in (["collect"], ["status"]):
        result = run_cli("--config", str(config), *command)
        assert result.returncode == 1
        assert said in result.stderr, result.stderr
