"""The period's window, one story once (across feeds and across issues), and the editor's choices."""

from __future__ import annotations

import re
import tomllib
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from conftest import run_cli

from newsletter import store
from newsletter.collect import as_of_moment, collect, period_for, story_key
from newsletter.config import Settings, parse_settings
from newsletter.editor import load_draft, save_draft
from newsletter.errors import CollectError
from newsletter.models import Item
from newsletter.pipeline import send
from newsletter.transports.memory import MemoryTransport


def rss(*items: tuple[str, str, str]) -> str:
    """Items as (title, link, pubDate or "" for none)."""
    body = "".join(
        f"<item><title>{t}</title><link>{link.replace('&', '&amp;')}</link>"
        + (f"<pubDate>{d}</pubDate>" if d else "")
        + "</item>"
        for t, link, d in items
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>F</title><link>http://e.org/</link>{body}</channel></rss>'


def project(tmp_path: Path, feeds: dict[str, str], issue: str = "", newsletter: str = "") -> Settings:
    """A newsletter in tmp_path reading the given feed files (name -> RSS text); ``newsletter``: more
    lines of its [newsletter] table."""
    sources = ""
    for name, text in feeds.items():
        (tmp_path / f"{name}.xml").write_text(text)
        sources += f'[[sources]]\nname = "{name}"\npath = "{name}.xml"\n'
    (tmp_path / "subscribers.csv").write_text("email,name\nada@example.org,Ada\n")
    config = (
        f'[newsletter]\nname = "T"\ntimezone = "Europe/Brussels"\ndatabase = "n.db"\n{newsletter}\n'
        '[subscribers]\ncsv = "subscribers.csv"\n'
        f"[issue]\n{issue}\n{sources}"
    )
    return parse_settings(tomllib.loads(config), tmp_path / "newsletter.toml")


def as_of(settings: Settings, day: str) -> datetime:
    return as_of_moment(date.fromisoformat(day), settings.zone)


def titles(settings: Settings, day: str, **kw: object) -> list[str]:
    engine = store.open_engine(settings.database_url)
    issue, _ = collect(settings, engine, as_of(settings, day), **kw)  # type: ignore[arg-type]
    return [i.title for i in issue.items]


def test_the_first_issue_starts_on_the_monday_of_the_week_before_never_the_whole_history(
    tmp_path: Path,
) -> None:
    settings = project(
        tmp_path,
        {
            "news": rss(
                ("This week", "http://e.org/1", "Thu, 16 Nov 2023 10:00:00 +0100"),
                ("Last week", "http://e.org/2", "Thu, 09 Nov 2023 10:00:00 +0100"),
                ("First minute of last week", "http://e.org/5", "Mon, 06 Nov 2023 00:01:00 +0100"),
                ("The Sunday before", "http://e.org/6", "Sun, 05 Nov 2023 23:59:00 +0100"),
                ("Long ago", "http://e.org/3", "Sun, 01 Jan 2023 10:00:00 +0100"),
                ("Tomorrow", "http://e.org/4", "Sat, 18 Nov 2023 10:00:00 +0100"),
            )
        },
    )
    assert titles(settings, "2023-11-17") == ["This week", "Last week", "First minute of last week"]


def test_a_first_window_across_the_dst_change_starts_at_local_midnight(tmp_path: Path) -> None:
    # Europe/Brussels fell back from 03:00 CEST to 02:00 CET on Sunday 29 October 2023.
    settings = project(
        tmp_path,
        {
            "news": rss(
                ("Just before the window", "http://e.org/a", "Sun, 22 Oct 2023 23:30:00 +0200"),
                ("First hour of the window", "http://e.org/b", "Mon, 23 Oct 2023 00:30:00 +0200"),
                ("In the repeated hour", "http://e.org/c", "Sun, 29 Oct 2023 02:30:00 +0100"),
                ("Last hour of the window", "http://e.org/d", "Wed, 01 Nov 2023 23:30:00 +0100"),
                ("Just after", "http://e.org/e", "Thu, 02 Nov 2023 00:30:00 +0100"),
            )
        },
    )
    period = period_for(as_of(settings, "2023-11-01"), settings.zone)
    assert period.key == "2023-W44"
    # Monday 23 October, 00:00 CEST (UTC+2); the week after starts at 00:00 CET (UTC+1)
    assert period.start.astimezone(UTC) == datetime(2023, 10, 22, 22, tzinfo=UTC)
    after = period_for(as_of(settings, "2023-11-08"), settings.zone).start
    assert after.astimezone(UTC) == datetime(2023, 10, 29, 23, tzinfo=UTC)
    assert (period.start.hour, period.start.minute, after.hour, after.minute) == (0, 0, 0, 0)
    assert sorted(titles(settings, "2023-11-01")) == [
        "First hour of the window",
        "In the repeated hour",
        "Last hour of the window",
    ]


def test_as_of_builds_the_same_period_every_time(
    tmp_path: Path, new_database, monkeypatch: pytest.MonkeyPatch
) -> None:
    feed = rss(*[(f"Story {n}", f"http://e.org/{n}", f"Thu, 16 Nov 2023 1{n}:00:00 +0100") for n in range(5)])
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = project(tmp_path / "a", {"news": feed})
    # a second newsletter with a database of its own (not the one $NEWSLETTER_DATABASE gives the first)
    monkeypatch.setenv("NEWSLETTER_DATABASE_B", new_database("b"))
    second = project(tmp_path / "b", {"news": feed}, newsletter='database_env = "NEWSLETTER_DATABASE_B"')
    assert titles(first, "2023-11-17") == titles(second, "2023-11-17") == titles(first, "2023-11-17")


def test_one_story_once_across_feeds_tracking_parameters_fragment_and_slash(tmp_path: Path) -> None:
    day = "Thu, 16 Nov 2023 10:00:00 +0100"
    settings = project(
        tmp_path,
        {
            "a": rss(
                (
                    "Alliance agrees new plan",
                    "https://www.e.org/story/1/?utm_source=rss&utm_medium=feed#top",
                    day,
                )
            ),
            "b": rss(
                ("Alliance agrees new plan (copy)", "http://e.org/story/1?fbclid=abc", day),
                ("The same story under another address", "http://mirror.e.org/x", day),
                ("Another story entirely here", "http://e.org/story/2?page=2", day),
            ),
            "c": rss(("The same story under another address", "http://e.org/y", day)),
        },
    )
    assert sorted(titles(settings, "2023-11-17")) == [
        "Alliance agrees new plan",
        "Another story entirely here",
        "The same story under another address",
    ]
    assert story_key("https://www.E.org/a/?utm_campaign=x&b=1#f") == story_key("http://e.org/a?b=1")
    assert story_key("http://e.org/a?page=2") != story_key("http://e.org/a?page=3")


def test_a_story_sent_in_one_issue_never_appears_in_a_later_one(tmp_path: Path) -> None:
    settings = project(
        tmp_path, {"news": rss(("Week one story", "http://e.org/1", "Thu, 09 Nov 2023 10:00:00 +0100"))}
    )
    engine = store.open_engine(settings.database_url)
    transport = MemoryTransport()
    outcome = send(settings, engine, as_of(settings, "2023-11-10"), transport=transport)
    assert outcome.state == "sent" and len(transport.sent) == 1
    # The next week the feed republishes the story with a new date and a tracking parameter.
    (tmp_path / "news.xml").write_text(
        rss(
            (
                "Week one story, updated",
                "http://e.org/1/?utm_source=newsletter",
                "Wed, 15 Nov 2023 10:00:00 +0100",
            ),
            ("Week two story", "http://e.org/2", "Thu, 16 Nov 2023 10:00:00 +0100"),
        )
    )
    issue, _ = collect(settings, engine, as_of(settings, "2023-11-17"))
    assert [i.title for i in issue.items] == ["Week two story"]
    assert issue.period.start == as_of(settings, "2023-11-10")  # since the previous issue's cutoff
    send(settings, engine, as_of(settings, "2023-11-17"), transport=transport)
    assert len(transport.sent) == 2
    text = transport.sent[1][2].decode("utf-8", "replace")
    assert "Week two story" in text and "Week one story" not in text


def test_an_undated_item_is_dated_when_first_seen_and_not_new_every_week(tmp_path: Path) -> None:
    settings = project(tmp_path, {"news": rss(("No date on me", "http://e.org/u", ""))})
    week1 = datetime(2023, 11, 15, 12, tzinfo=settings.zone)
    week2 = datetime(2023, 11, 22, 12, tzinfo=settings.zone)
    assert titles(settings, "2023-11-17", now=week1) == ["No date on me"]
    assert titles(settings, "2023-11-17", now=week2) == ["No date on me"]  # the same week, collected again
    # Two weeks on (no issue sent, so a first issue's window: from Monday 20 November), it is
    # still dated 15 November, not "now".
    week3 = datetime(2023, 11, 29, 12, tzinfo=settings.zone)
    assert titles(settings, "2023-12-01", now=week3) == []


def test_nothing_new_sends_nothing_and_says_since_when(tmp_path: Path) -> None:
    feed = rss(("Only an old one", "http://e.org/1", "Thu, 02 Nov 2023 10:00:00 +0100"))
    settings = project(tmp_path, {"news": feed})
    transport = MemoryTransport()
    outcome = send(
        settings, store.open_engine(settings.database_url), as_of(settings, "2023-11-17"), transport=transport
    )
    assert outcome.state == "nothing-new" and outcome.message == "nothing new since 2023-11-06 00:00 CET"
    assert transport.sent == []


def test_the_editors_choices_survive_a_re_collect(tmp_path: Path) -> None:
    day = "Thu, 16 Nov 2023 1{}:00:00 +0100"
    stories = [(f"Story number {n} of the week", f"http://e.org/{n}", day.format(n)) for n in range(5)]
    settings = project(tmp_path, {"news": rss(*stories)})
    engine = store.open_engine(settings.database_url)
    moment = as_of(settings, "2023-11-17")
    issue, _ = collect(settings, engine, moment)
    assert issue.headline is not None and issue.headline.title == "Story number 4 of the week"
    draft = load_draft(settings, engine, issue.period.key)
    draft.pin("http://e.org/1?utm_source=x")
    draft.drop("2")  # now the first card: story 4
    draft.add(Item(title="An announcement", link="https://e.org/news/annual"), position=2)
    draft.move("http://e.org/0", 3)
    save_draft(engine, draft)
    (tmp_path / "news.xml").write_text(
        rss(*stories, ("A late story", "http://e.org/late", "Fri, 17 Nov 2023 09:00:00 +0100"))
    )
    issue, _ = collect(settings, engine, moment)
    assert [i.title for i in issue.items] == [
        "Story number 1 of the week",
        "An announcement",
        "Story number 0 of the week",
        "Story number 3 of the week",
        "Story number 2 of the week",
        "A late story",
    ]


def test_a_draft_being_sent_is_frozen(tmp_path: Path) -> None:
    settings = project(
        tmp_path, {"news": rss(("Sent story", "http://e.org/1", "Thu, 16 Nov 2023 10:00:00 +0100"))}
    )
    engine = store.open_engine(settings.database_url)
    moment = as_of(settings, "2023-11-17")
    send(settings, engine, moment, transport=MemoryTransport())
    (tmp_path / "news.xml").write_text(
        rss(("A later story", "http://e.org/2", "Fri, 17 Nov 2023 10:00:00 +0100"))
    )
    issue, _ = collect(settings, engine, moment)
    assert [i.title for i in issue.items] == ["Sent story"]
    with pytest.raises(CollectError) as info:
        load_draft(settings, engine, issue.period.key)
    assert "can no longer change" in info.value.message


def test_too_few_items_roll_over_into_the_next_issue(tmp_path: Path) -> None:
    early = ("A story from the first window", "http://e.org/1", "Tue, 31 Oct 2023 10:00:00 +0100")
    settings = project(tmp_path, {"news": rss(early)}, issue="min_items = 2")
    config = tmp_path / "newsletter.toml"
    config.write_text(
        '[newsletter]\nname = "T"\ntimezone = "Europe/Brussels"\ndatabase = "n.db"\n'
        '[subscribers]\ncsv = "subscribers.csv"\n[issue]\nmin_items = 2\n'
        '[[sources]]\nname = "news"\npath = "news.xml"\n'
    )
    sent = run_cli("--config", str(config), "send", "--as-of", "2023-11-10")
    assert sent.returncode == 0, sent.stderr
    assert (
        "issue 2023-W45 rolled over: 1 new item(s) since 2023-10-30 00:00 CET, fewer than [issue] "
        "min_items = 2: nothing is sent, and they wait for the next issue" in sent.stdout
    )
    assert not (tmp_path / "outbox").exists() or not any((tmp_path / "outbox").rglob("*,*"))
    shown = run_cli("--config", str(config), "status").stdout
    assert "issue 2023-W45 rolled over: 1 new item(s)" in shown
    # The next week's first window would start on Monday 6 November: the rolled-over window is kept.
    later = ("A story of the second week", "http://e.org/2", "Wed, 15 Nov 2023 10:00:00 +0100")
    (tmp_path / "news.xml").write_text(rss(early, later))
    engine = store.open_engine(settings.database_url)
    transport = MemoryTransport()
    outcome = send(settings, engine, as_of(settings, "2023-11-17"), transport=transport)
    assert outcome.state == "sent" and outcome.period_key == "2023-W46"
    text = transport.sent[0][2].decode("utf-8", "replace")
    assert "A story from the first window" in text and "A story of the second week" in text
    assert re.search(r"2023-W46\W+sent", run_cli("--config", str(config), "status").stdout)
