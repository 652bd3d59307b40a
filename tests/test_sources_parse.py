"""Feed bytes -> items: every RSS flavour and Atom, what each item carries, and caps on hostile feeds."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from newsletter.config import SourceSection
from newsletter.errors import SourceError
from newsletter.sources import feed
from newsletter.sources.feed import parse_feed, read_feed, shorten
from newsletter.sources.handwritten import parse_items

pytestmark = pytest.mark.sqlite_only  # parses feeds in memory; opens no database

NEWS = SourceSection(name="News", url="http://feeds.example/news.xml")
BASE = "http://feeds.example/news/feed.xml"


def parse(body: str | bytes, source: SourceSection = NEWS, **kw: int) -> list:
    data = body.encode() if isinstance(body, str) else body
    return parse_feed(data, source=source, base_url=BASE, **kw)


RSS091 = """<?xml version="1.0"?>
<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" "http://my.netscape.com/publish/formats/rss-0.91.dtd">
<rss version="0.91"><channel><title>Old</title><link>http://old.example/</link><description>d</description>
<item><title>Ninety one</title><link>http://old.example/91</link><description>Plain.</description></item>
</channel></rss>"""

RSS10 = """<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
 xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel rdf:about="http://rdf.example/"><title>RDF</title><link>http://rdf.example/</link><description>d</description></channel>
<item rdf:about="http://rdf.example/1"><title>One point oh</title><link>http://rdf.example/1</link>
<dc:date>2023-11-16T10:00:00+01:00</dc:date></item>
</rdf:RDF>"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="http://atom.example/blog/">
<title>Atom</title><id>urn:x</id><updated>2023-11-16T09:00:00Z</updated>
<entry><title type="html">Caf&amp;eacute; &amp;amp;   friends</title><link href="posts/1"/><id>urn:1</id>
<updated>2023-11-15T09:00:00Z</updated>
<content type="html">&lt;p&gt;Hello &lt;img src="/pics/1.png"&gt; world.&lt;/p&gt;</content></entry>
</feed>"""


def test_rss_091_10_20_and_atom_all_yield_items() -> None:
    assert parse(RSS091)[0].title == "Ninety one"
    rdf = parse(RSS10)[0]
    assert rdf.link == "http://rdf.example/1" and rdf.published == datetime(2023, 11, 16, 9, tzinfo=UTC)
    atom = parse(ATOM)[0]
    assert atom.title == "Café & friends"  # entities decoded, whitespace collapsed
    assert atom.link == "http://atom.example/blog/posts/1"  # xml:base
    assert atom.image == "http://atom.example/pics/1.png"
    assert atom.summary == "Hello world."
    assert atom.published == datetime(2023, 11, 15, 9, tzinfo=UTC)  # updated, when nothing is published


def rss(items: str) -> str:
    return (
        '<?xml version="1.0"?><rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/" '
        'xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"><channel><title>T</title>'
        f"<link>http://example.org/</link>{items}</channel></rss>"
    )


def test_only_http_links_and_relative_ones_resolved_against_the_feed() -> None:
    items = parse(
        rss(
            "<item><title>js</title><link>javascript:alert(1)</link></item>"
            "<item><title>data</title><link>data:text/html,hi</link></item>"
            "<item><title>file</title><link>file:///etc/passwd</link></item>"
            "<item><title>relative</title><link>../story/7</link></item>"
        )
    )
    assert [(i.title, i.link) for i in items] == [("relative", "http://feeds.example/story/7")]


def test_summary_is_clean_text_cut_at_a_sentence_or_word() -> None:
    text = "First sentence is here. Second sentence is a bit longer than that. Third one."
    body = f"<item><title>t</title><link>http://e.org/1</link><description>&lt;script&gt;x()&lt;/script&gt;&lt;b&gt;{text}&lt;/b&gt;</description></item>"
    item = parse(rss(body), summary_length=70)[0]
    assert item.summary == "First sentence is here. Second sentence is a bit longer than that."
    assert shorten("word " * 30, 42).endswith("word…") and len(shorten("word " * 30, 42)) <= 43
    assert shorten("short", 42) == "short"


@pytest.mark.parametrize(
    ("extra", "image"),
    [
        ('<media:content url="http://i.example/a.jpg" medium="image"/>', "http://i.example/a.jpg"),
        ('<media:thumbnail url="http://i.example/t.jpg"/>', "http://i.example/t.jpg"),
        ('<enclosure url="http://i.example/e.png" type="image/png" length="1"/>', "http://i.example/e.png"),
        ('<itunes:image href="http://i.example/pod.jpg"/>', "http://i.example/pod.jpg"),
        ('<description>&lt;img src="/rel.gif"&gt;</description>', "http://feeds.example/rel.gif"),
        ('<media:content url="javascript:x" medium="image"/>', ""),
        ('<description>&lt;img src="data:image/png;base64,AAAA"&gt;</description>', ""),
        ('<media:content url="http://v.example/clip.mp4" type="video/mp4"/>', ""),
    ],
)
def test_image_sources_in_order_http_only(extra: str, image: str) -> None:
    item = parse(rss(f"<item><title>t</title><link>http://e.org/1</link>{extra}</item>"))[0]
    assert item.image == image


def test_video_from_enclosure_media_or_a_video_label() -> None:
    items = parse(
        rss(
            '<item><title>a</title><link>http://e.org/a</link><enclosure url="http://v/a.mp4" type="video/mp4" length="1"/></item>'
            '<item><title>b</title><link>http://e.org/b</link><media:content url="http://v/b" medium="video"/></item>'
            "<item><title>c</title><link>http://e.org/c</link></item>"
        )
    )
    assert [i.is_video for i in items] == [True, True, False]
    video = SourceSection(name="Clips", path="x", label="Video")
    assert parse(rss("<item><title>c</title><link>http://e.org/c</link></item>"), video)[0].is_video


def test_an_item_without_a_title_takes_the_start_of_its_summary() -> None:
    item = parse(
        rss("<item><link>http://e.org/1</link><description>Only a description here.</description></item>")
    )[0]
    assert item.title == "Only a description here."


def test_entity_expansion_is_defused() -> None:
    """A 35 KB feed whose one 30 KB entity is referenced 1,500 times: 45 MB in feedparser alone."""
    big = "A" * 30_000
    feed = (
        f'<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY big "{big}">\n<!ENTITY nbsp "&#160;">\n]>\n'
        + rss(
            f"<item><title>Bomb</title><link>http://e.org/1</link><description>{'&big;' * 1500}</description></item>"
        ).split("?>", 1)[1]
    ).encode()
    assert 30_000 < len(feed) < 40_000
    started = time.perf_counter()
    items = parse(feed)
    elapsed = time.perf_counter() - started
    assert items[0].title == "Bomb"
    assert "A" * 1000 not in items[0].summary and len(items[0].summary) <= 300
    assert elapsed < 5  # a guard against a hang, not a speed claim


def test_entities_in_a_utf16_feed_are_refused() -> None:
    feed = '<?xml version="1.0" encoding="utf-16"?><!DOCTYPE rss [<!ENTITY a "b">]><rss version="2.0"/>'
    with pytest.raises(SourceError) as info:
        parse(feed.encode("utf-16"))
    assert "entities" in info.value.message


def dated_items(count: int, first: datetime, step: timedelta, start: int = 0) -> str:
    """``count`` items numbered from ``start``, the first dated ``first``, each ``step`` later."""
    return "".join(
        f"<item><title>n{n}</title><link>http://e.org/{n}</link>"
        f"<pubDate>{(first + (n - start) * step):%a, %d %b %Y %H:%M:%S +0000}</pubDate></item>"
        for n in range(start, start + count)
    )


def test_every_entry_is_kept_and_a_cap_far_above_says_what_it_left_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    body = "".join(f"<item><title>n{n}</title><link>http://e.org/{n}</link></item>" for n in range(1200))
    assert len(parse(rss(body))) == 1200  # once cut at 500, silently
    assert feed.MAX_ITEMS >= 10_000

    # Over the cap (made small here), the newest entries are kept, in the feed's order, and a note
    # names the source and how many were left out. The feed lists its oldest entry first.
    monkeypatch.setattr(feed, "MAX_ITEMS", 100)
    found = read_feed(
        rss(dated_items(150, datetime(2023, 11, 10, tzinfo=UTC), timedelta(minutes=30))).encode(),
        source=NEWS,
        base_url=BASE,
    )
    assert [i.title for i in found.items] == [f"n{n}" for n in range(50, 150)]
    assert found.notes == [
        "source 'News': 150 entries with a link, over the cap of 100 a feed; kept the newest 100, left out 50"
    ]


def test_with_a_window_only_its_entries_and_the_undated_ones_become_items() -> None:
    """An archive feed: 1,500 old entries, 600 of the week, 3 undated; a week of 600 is kept whole."""
    start = datetime(2023, 11, 10, 23, tzinfo=UTC)
    end = start + timedelta(days=7)
    old = dated_items(1500, datetime(2022, 1, 1, tzinfo=UTC), timedelta(hours=5))
    week = dated_items(600, start + timedelta(minutes=1), timedelta(minutes=15), start=1500)
    undated = "".join(f"<item><title>u{n}</title><link>http://e.org/u{n}</link></item>" for n in range(3))
    late = dated_items(1, end + timedelta(minutes=1), timedelta(0), start=9999)
    found = read_feed(
        rss(week + undated + old + late).encode(), source=NEWS, base_url=BASE, window=(start, end)
    )
    assert len(found.items) == 603 and found.notes == []
    assert all(start < i.published <= end for i in found.items if i.published)
    assert [i.title for i in found.items if i.published is None] == ["u0", "u1", "u2"]
    # A feed with nothing in the window is empty, not an error.
    assert read_feed(rss(old).encode(), source=NEWS, base_url=BASE, window=(start, end)).items == []


def test_not_a_feed_and_malformed_beyond_use_are_source_errors() -> None:
    for body in (
        "<html><body><p>Hello</p></body></html>",
        "\x00\x01garbage",
        "",
        "<rss version='2.0'><channel><item>",
    ):
        with pytest.raises(SourceError) as info:
            parse(body)
        assert "source 'News'" in info.value.message and info.value.hint


def test_a_feed_with_no_entries_is_empty_not_an_error() -> None:
    assert parse(rss("")) == []


def test_the_hand_written_items_file(tmp_path: Path) -> None:
    text = """
[[items]]
title = "Our annual report is out"
link = "https://example.org/report?utm_source=x"
summary = "Two pages on <b>what we did</b>."
date = 2023-11-16
image = "https://example.org/report.jpg"

[[items]]
title = "A talk"
link = "https://example.org/talk"
video = true
"""
    source = SourceSection(name="Desk", path="items.toml")
    items = parse_items(text.encode(), source, (tmp_path / "items.toml").as_uri())
    assert items[0].summary == "Two pages on what we did." and items[0].published == datetime(
        2023, 11, 16, 12, tzinfo=UTC
    )
    assert items[1].is_video and items[1].published is None
    with pytest.raises(SourceError) as info:
        parse_items(b'[[items]]\ntitle = "x"\nlink = "javascript:1"\n', source, "")
    assert "items[1]" in info.value.message


@pytest.mark.parametrize(
    "subset",
    [
        '<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">',
        '<!ENTITY c SYSTEM "file:///etc/passwd">',
        '<!ENTITY % p SYSTEM "http://127.0.0.1:9/evil.dtd"> %p;',
    ],
    ids=["nested", "external", "parameter"],
)
def test_nested_external_and_parameter_entities_are_dropped(subset: str) -> None:
    feed = (
        f'<?xml version="1.0"?>\n<!DOCTYPE rss [\n{subset}\n]>\n'
        + rss(
            f"<item><title>T</title><link>http://e.org/1</link><description>{'&c;' * 1000}</description></item>"
        ).split("?>", 1)[1]
    )
    item = parse(feed)[0]
    assert "root:" not in item.summary and "aaaaaaaaaa" not in item.summary
