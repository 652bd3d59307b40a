"""What a new user meets first: undated stories, busy feeds, a web page given as a feed, and the
first issue's window. Feeds are files, or served over HTTP from a real server on 127.0.0.1."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from conftest import run_cli
from test_sources import FeedServer, item, rss, settings_for, source, start_feed_server

from newsletter import store
from newsletter.collect import as_of_moment, collect
from newsletter.config import Settings, parse_settings
from newsletter.editor import load_draft, save_draft
from newsletter.sources import feed, read_sources, source_warnings
from newsletter.sources.page import announced_feeds

ZONE_NAME = "Europe/Brussels"


@pytest.fixture
def server() -> Iterator[FeedServer]:
    state, stop = start_feed_server()
    try:
        yield state
    finally:
        stop()


def entry(title: str, link: str, pub: str | None) -> str:
    return (
        f"<item><title>{title}</title><link>{link}</link>"
        + (f"<pubDate>{pub}</pubDate>" if pub else "")
        + "</item>"
    )


def project(tmp_path: Path, feed_text: str) -> Path:
    """A newsletter in tmp_path reading one feed file; returns its config path."""
    (tmp_path / "news.xml").write_text(feed_text)
    config = tmp_path / "newsletter.toml"
    config.write_text(
        f'[newsletter]\nname = "T"\ntimezone = "{ZONE_NAME}"\ndatabase = "n.db"\n'
        '[[sources]]\nname = "News"\npath = "news.xml"\n'
    )
    return config


def settings_of(config: Path) -> Settings:
    return parse_settings(tomllib.loads(config.read_text()), config)


def end_of(settings: Settings, day: str) -> datetime:
    return as_of_moment(date.fromisoformat(day), settings.zone)


# --- 1. undated items never take the headline from the week's dated stories --------------------

UNDATED_FEED = rss(
    entry("A story without any date at all", "http://e.org/undated", None),
    entry("Ministers meet in Brussels on Wednesday", "http://e.org/wed", "Wed, 15 Nov 2023 10:00:00 +0100"),
    entry("A story whose date is not a date", "http://e.org/bad", "sometime last week, we think"),
    entry("Summit preparations begin on Monday", "http://e.org/mon", "Mon, 13 Nov 2023 09:00:00 +0100"),
).decode()


def test_undated_items_come_after_the_dated_stories_and_never_take_the_headline(tmp_path: Path) -> None:
    settings = settings_of(project(tmp_path, UNDATED_FEED))
    engine = store.open_engine(settings.database_url)
    # Collected on Friday morning: both undated items are first seen now, newer than any dated story.
    friday = datetime(2023, 11, 17, 9, tzinfo=settings.zone)
    issue, _ = collect(settings, engine, end_of(settings, "2023-11-17"), now=friday)
    assert issue.headline is not None and issue.headline.title == "Ministers meet in Brussels on Wednesday"
    assert [i.title for i in issue.cards] == [
        "Summit preparations begin on Monday",
        "A story without any date at all",
        "A story whose date is not a date",
    ]
    assert [i.published for i in issue.cards[1:]] == [None, None]  # a date that does not parse is none

    # The editor can still make one the headline.
    draft = load_draft(settings, engine, issue.period.key)
    draft.pin("http://e.org/bad")
    save_draft(engine, draft)
    issue, _ = collect(settings, engine, end_of(settings, "2023-11-17"), now=friday)
    assert issue.headline is not None and issue.headline.title == "A story whose date is not a date"


def test_the_cli_shows_an_undated_item_below_the_dated_headline(tmp_path: Path) -> None:
    config = project(tmp_path, UNDATED_FEED)
    result = run_cli("--config", str(config), "collect", "--as-of", "2023-11-17")
    assert result.returncode == 0, result.stderr
    # Run with today's clock: the undated items are first seen at the period's end, 17 November 23:59.
    lines = result.stdout.splitlines()
    titles = ["Ministers meet", "Summit preparations", "without any date", "whose date is not a date"]
    found = [next(n for n, line in enumerate(lines) if title in line) for title in titles]
    assert found == sorted(found)
    assert "headline" in lines[found[0]]


def test_with_only_undated_items_the_newest_first_seen_is_the_headline(tmp_path: Path) -> None:
    settings = settings_of(
        project(tmp_path, rss(entry("Only undated here, old", "http://e.org/1", None)).decode())
    )
    engine = store.open_engine(settings.database_url)
    collect(
        settings, engine, end_of(settings, "2023-11-17"), now=datetime(2023, 11, 14, 9, tzinfo=settings.zone)
    )
    (tmp_path / "news.xml").write_text(
        rss(
            entry("Only undated here, old", "http://e.org/1", None),
            entry("Only undated here, new", "http://e.org/2", None),
        ).decode()
    )
    issue, _ = collect(
        settings, engine, end_of(settings, "2023-11-17"), now=datetime(2023, 11, 16, 9, tzinfo=settings.zone)
    )
    assert [i.title for i in issue.items] == ["Only undated here, new", "Only undated here, old"]


# --- 2. a busy feed: every entry of the period, whatever their number -------------------------


def week_entries(count: int, first: datetime, step: timedelta, number_from: int = 0) -> list[str]:
    return [item(number_from + n, date=f"{first + n * step:%a, %d %b %Y %H:%M:%S %z}") for n in range(count)]


def test_a_busy_feed_over_http_keeps_every_entry_of_the_week(server: FeedServer, tmp_path: Path) -> None:
    settings = settings_for(tmp_path, source("Busy", server.url("/busy.xml")))
    start = datetime(2023, 11, 6, 0, 5, tzinfo=settings.zone)
    # 900 entries this period (one every 15 minutes from Monday 6 November) and 2,000 archive entries
    week = week_entries(900, start, timedelta(minutes=15))
    archive = week_entries(2000, datetime(2021, 1, 1, tzinfo=settings.zone), timedelta(hours=3), 10_000)
    server.feed("/busy.xml", rss(*week, *archive))
    engine = store.open_engine(settings.database_url)
    issue, results = collect(settings, engine, end_of(settings, "2023-11-17"))
    assert results[0].error is None and results[0].notes == () and source_warnings(results) == []
    row = store.issues.get(engine, issue.period.key)
    assert row is not None and len(row.draft.candidates) == 900
    assert len(results[0].items) == 900  # the archive's entries were left out while parsing


def test_over_the_cap_a_note_names_the_source_and_how_many_were_left_out(
    server: FeedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(feed, "MAX_ITEMS", 250)  # far above a week's news; made small to reach it
    settings = settings_for(tmp_path, source("Busy", server.url("/busy.xml")))
    server.feed(
        "/busy.xml",
        rss(*week_entries(400, datetime(2023, 11, 13, tzinfo=settings.zone), timedelta(minutes=10))),
    )
    engine = store.open_engine(settings.database_url)
    issue, results = collect(settings, engine, end_of(settings, "2023-11-17"))
    note = "source 'Busy': 400 entries in the issue's window (or undated), over the cap of 250 a feed; kept the newest 250, left out 150"
    assert results[0].notes == (note,) and source_warnings(results) == [note]
    assert issue.headline is not None and issue.headline.title == "Story number 399 of the week"
    row = store.issues.get(engine, issue.period.key)
    assert row is not None and len(row.draft.candidates) == 250


# --- 3. a web page given as a feed ---------------------------------------------------------------

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Blog</title><id>urn:blog</id>
<updated>2023-11-16T09:00:00Z</updated>
<entry><title>Our new report is out this week</title><link href="posts/report"/><id>urn:1</id>
<updated>2023-11-16T09:00:00Z</updated></entry>
<entry><title>A talk we gave on Tuesday</title><link href="/blog/posts/talk"/><id>urn:2</id>
<updated>2023-11-14T09:00:00Z</updated></entry>
</feed>"""


def page(head: str) -> bytes:
    return f"<!DOCTYPE html><html><head><title>Blog</title>{head}</head><body><p>Hello</p></body></html>".encode()


def test_a_web_page_is_read_through_the_feed_it_announces(server: FeedServer, tmp_path: Path) -> None:
    server.feed(
        "/blog/",
        page(
            '<link rel="alternate" hreflang="fr" href="/fr/blog/">'
            '<link rel="alternate" type="application/atom+xml" title="Blog" href="feeds/all.atom">'
            '<link rel="alternate" type="application/rss+xml" title="Comments" href="/comments.rss">'
        ),
        content_type="text/html; charset=utf-8",
    )
    server.feed("/blog/feeds/all.atom", ATOM, content_type="application/atom+xml")
    settings = settings_for(tmp_path, source("Blog", server.url("/blog/")))
    engine = store.open_engine(settings.database_url)
    moment = end_of(settings, "2023-11-17")
    for _run in range(2):  # and again, with what the first run stored
        issue, results = collect(settings, engine, moment)
        assert results[0].error is None
        assert [(i.title, i.link) for i in issue.items] == [
            ("Our new report is out this week", server.url("/blog/feeds/posts/report")),
            ("A talk we gave on Tuesday", server.url("/blog/posts/talk")),
        ]
        feed_url = server.url("/blog/feeds/all.atom")
        assert source_warnings(results) == [
            f"source 'Blog': {server.url('/blog/')} is a web page; reading the feed it announces, "
            f'{feed_url} (set url = "{feed_url}" in this [[sources]] table to read it directly)'
        ]
    assert [p for p, _ in server.requests] == ["/blog/", "/blog/feeds/all.atom"] * 2
    assert "/comments.rss" not in [p for p, _ in server.requests]


def test_a_page_announcing_no_feed_is_an_error_naming_the_url_and_what_to_do(
    server: FeedServer, tmp_path: Path
) -> None:
    server.feed("/good.xml", rss(item(1)))
    server.feed("/about", page('<link rel="stylesheet" href="/site.css">'), content_type="text/html")
    config = tmp_path / "newsletter.toml"
    config.write_text(
        f'[newsletter]\ntimezone = "{ZONE_NAME}"\ndatabase = "n.db"\n'
        + source("Good", server.url("/good.xml"))
        + source("About", server.url("/about"))
    )
    result = run_cli("--config", str(config), "collect", "--as-of", "2023-11-17")
    assert result.returncode == 0, result.stderr
    said = " ".join(result.stderr.split())
    assert (
        f"warning: source 'About': {server.url('/about')} is a web page (HTML), not an RSS or Atom feed, "
        "and it announces no feed" in said
    )
    assert "hint: open the page in a browser and find its feed" in said and "the source's url" in said
    assert "Story number 1 of the week" in result.stdout


def test_a_page_whose_announced_feed_fails_names_both(server: FeedServer, tmp_path: Path) -> None:
    server.feed("/news", page('<link rel="alternate" type="application/rss+xml" href="/news.rss">'))
    settings = settings_for(tmp_path, source("News", server.url("/news")))
    (result,) = read_sources(settings, store.open_engine(settings.database_url))
    assert result.error is not None and result.items == ()
    assert result.error.message == (
        f"source 'News': {server.url('/news')} is a web page, and the feed it announces, "
        f"{server.url('/news.rss')}, cannot be read: {server.url('/news.rss')} answered HTTP 404"
    )


@pytest.mark.sqlite_only
def test_announced_feeds_are_resolved_and_only_rss_or_atom() -> None:
    head = (
        '<base href="https://site.example/news/">'
        '<link rel="alternate" type="text/html" href="/other">'
        '<link rel="stylesheet" type="application/rss+xml" href="/not-alternate.rss">'
        '<link rel="Alternate" type="application/RSS+XML; charset=utf-8" href="../rss.xml?a=1&amp;b=2">'
        '<link rel="alternate" type="application/atom+xml" href="javascript:alert(1)">'
        '<link rel="alternate" type="application/atom+xml" href="atom.xml">'
    )
    assert announced_feeds(page(head), "http://ignored.example/x") == [
        "https://site.example/rss.xml?a=1&b=2",
        "https://site.example/news/atom.xml",
    ]
    assert announced_feeds(
        page('<link rel="alternate" type="application/rss+xml" href="f.rss">'), "http://h.example/a/b"
    ) == ["http://h.example/a/f.rss"]
    assert announced_feeds(page(""), "http://h.example/") == []


def test_a_local_html_file_says_which_feed_it_announces(tmp_path: Path) -> None:
    (tmp_path / "saved.html").write_bytes(
        page('<link rel="alternate" type="application/rss+xml" href="https://site.example/feed.rss">')
    )
    settings = settings_for(tmp_path, '[[sources]]\nname = "Saved"\npath = "saved.html"\n')
    (result,) = read_sources(settings, store.open_engine(settings.database_url))
    assert result.error is not None and "a web page (HTML), not an RSS or Atom feed" in result.error.message
    assert (
        result.error.hint
        == 'the page announces the feed https://site.example/feed.rss: use url = "https://site.example/feed.rss"'
    )


# --- 4. the first issue's window: a boundary the operator can predict, stable all week ------------

WINDOW_FEED = rss(
    entry("The Sunday before, late", "http://e.org/sun", "Sun, 05 Nov 2023 23:30:00 +0100"),
    entry("Last Friday, early morning", "http://e.org/fri", "Fri, 10 Nov 2023 07:30:00 +0100"),
    entry("Wednesday, just before the first collect", "http://e.org/wed", "Wed, 15 Nov 2023 09:55:00 +0100"),
    entry("Friday, this morning", "http://e.org/today", "Fri, 17 Nov 2023 08:00:00 +0100"),
).decode()


def test_every_collect_of_the_week_starts_the_first_window_at_the_same_midnight(tmp_path: Path) -> None:
    settings = settings_of(project(tmp_path, WINDOW_FEED))
    engine = store.open_engine(settings.database_url)
    monday_before = datetime(2023, 11, 6, 0, 0, tzinfo=settings.zone)
    seen = []
    for moment in (
        datetime(2023, 11, 15, 10, 0, tzinfo=settings.zone),  # Wednesday, a look at the draft
        datetime(2023, 11, 17, 9, 0, tzinfo=settings.zone),  # Friday, the scheduled send's time
        datetime(2023, 11, 19, 23, 0, tzinfo=settings.zone),  # Sunday night, the week's last collect
    ):
        issue, _ = collect(settings, engine, moment, now=moment)
        assert issue.period.key == "2023-W46" and issue.period.start == monday_before
        row = store.issues.get(engine, "2023-W46")
        assert row is not None and row.period_start == monday_before
        seen.append([i.title for i in issue.items])
    assert seen == [
        ["Wednesday, just before the first collect", "Last Friday, early morning"],
        ["Friday, this morning", "Wednesday, just before the first collect", "Last Friday, early morning"],
        ["Friday, this morning", "Wednesday, just before the first collect", "Last Friday, early morning"],
    ]


def test_the_cli_shows_the_first_window_from_the_monday_before_at_midnight(tmp_path: Path) -> None:
    config = project(tmp_path, WINDOW_FEED)
    for _run in range(2):
        result = run_cli("--config", str(config), "collect", "--as-of", "2023-11-17")
        assert result.returncode == 0, result.stderr
        shown = result.stdout + result.stderr  # the table's title goes to stderr when piped
        assert "Issue 2023-W46: 2023-11-06 00:00 to 2023-11-17 23:59 CET" in shown
        assert "Last Friday, early morning" in result.stdout and "The Sunday before" not in result.stdout
