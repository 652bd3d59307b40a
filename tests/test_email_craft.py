"""The email as mail software reads it: SpamAssassin's score of the whole message, a text browser's
rendering (w3m, as neomutt shows HTML mail), the plain-text part, image sizes and cut summaries.

SpamAssassin and w3m run for real where installed (.ci/run installs both); without them those tests
are skipped with the reason.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import fields, replace
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from conftest import EXAMPLE
from lxml import html as lxml_html

from newsletter import store
from newsletter.collect import collect
from newsletter.compose import Composer
from newsletter.config import Settings, load_settings
from newsletter.models import Issue, Item, RenderedIssue
from newsletter.pipeline import PREVIEW_SUBSCRIBER
from newsletter.render import render_issue
from newsletter.render.issue import CARD_SUMMARY_CHARS, PREHEADER_PADDING, shorten

pytestmark = pytest.mark.sqlite_only  # rendering: the database only holds the collected example

AS_OF = datetime(2023, 11, 17, 23, 59, tzinfo=ZoneInfo("Europe/Brussels"))
SPAMASSASSIN = shutil.which("spamassassin")
W3M = shutil.which("w3m")


@pytest.fixture(scope="module")
def nato(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, Issue]:
    settings = load_settings(EXAMPLE / "newsletter.toml")
    db = tmp_path_factory.mktemp("craft") / "craft.db"
    settings = settings.model_copy(
        update={"newsletter": settings.newsletter.model_copy(update={"database": str(db)})}
    )
    engine = store.open_engine(settings.database_url)
    issue, _ = collect(settings, engine, AS_OF)
    engine.dispose()
    return settings, issue


def twenty_stories(issue: Issue) -> Issue:
    """The headline, 14 cards (the video among them) and 5 further links: 20 stories, each its own URL."""
    stories = [c for c in issue.cards if not c.is_video]
    video = [c for c in issue.cards if c.is_video]
    cards = [
        replace(stories[i % len(stories)], link=f"{stories[i % len(stories)].link}?n={i}") for i in range(13)
    ]
    links = [
        replace(issue.links[i % len(issue.links)], link=f"https://example.org/more/{i}") for i in range(5)
    ]
    return replace(issue, cards=(*cards, *video), links=tuple(links))


def spam_report(message: bytes) -> tuple[float, str]:
    """SpamAssassin's score and report for a whole message, local tests only (no network lookups)."""
    assert SPAMASSASSIN is not None
    done = subprocess.run(  # noqa: S603 (a fixed command)
        [SPAMASSASSIN, "-t", "-L"], input=message, capture_output=True, timeout=120, check=True
    )
    report = done.stdout.decode("utf-8", "replace")
    status = re.search(r"^X-Spam-Status: \w+, score=(-?[\d.]+)", report, re.M)
    assert status, report[:2000]
    return float(status.group(1)), report[report.find("Content analysis details") :]


@pytest.mark.skipif(
    SPAMASSASSIN is None, reason="spamassassin is not installed (apt-get install spamassassin)"
)
@pytest.mark.parametrize("size", ["example", "twenty stories"])
def test_spamassassin_scores_the_email_zero(nato: tuple[Settings, Issue], size: str) -> None:
    settings, issue = nato
    if size != "example":
        issue = twenty_stories(issue)
        assert len(issue.items) == 20
    message = Composer(settings, render_issue(settings, issue)).compose(PREVIEW_SUBSCRIBER)
    score, report = spam_report(message)
    assert score == 0.0, report


def _w3m(html: str) -> str:
    assert W3M is not None
    done = subprocess.run(  # noqa: S603 (a fixed command)
        [W3M, "-dump", "-T", "text/html", "-I", "UTF-8", "-O", "UTF-8", "-cols", "80"],
        input=html.encode(),
        capture_output=True,
        timeout=60,
        check=True,
    )
    return done.stdout.decode()


@pytest.mark.skipif(W3M is None, reason="w3m is not installed (apt-get install w3m)")
def test_a_text_browser_shows_no_preheader_filler(nato: tuple[Settings, Issue]) -> None:
    settings, issue = nato
    rendered = render_issue(settings, issue)
    lines = _w3m(rendered.html).splitlines()
    # the preheader's words may show (a text browser reads no CSS), then the masthead at once:
    # no line of invisible or blank filler characters in between
    top = lines[: lines.index("What's new at NATO")]
    assert " ".join(" ".join(top).split()) == rendered.preheader
    assert not [line for line in top if re.search(r"[^\w\s·:,'’.-]", line)]


def test_the_preheader_filler_is_made_of_characters_text_renderings_drop() -> None:
    # soft hyphens and zero-width no-break spaces: not the usual non-breaking spaces and joiners,
    # which a text rendering shows as a line of spaces or question marks
    assert set(PREHEADER_PADDING) == {"\u00ad", "\ufeff"}
    assert len(PREHEADER_PADDING) >= 100


def test_each_story_url_appears_once_in_the_text_part(nato: tuple[Settings, Issue]) -> None:
    settings, issue = nato
    for sample in (issue, twenty_stories(issue)):
        text = render_issue(settings, sample).text
        for item in sample.items:
            assert len(re.findall(re.escape(item.link) + r"(?![\w?=&])", text)) == 1, item.link


def test_card_summaries_are_cut_near_three_lines_and_the_headline_is_whole(
    nato: tuple[Settings, Issue],
) -> None:
    settings, issue = nato
    rendered = render_issue(settings, issue)
    tree = lxml_html.fromstring(rendered.html)
    summaries = [p.text_content() for p in tree.xpath("//td[contains(@class, 'card')]//p[@class='summary']")]
    assert len(summaries) == len(issue.cards)
    assert all(len(s) <= CARD_SUMMARY_CHARS * 11 // 10 for s in summaries)
    assert any(s.endswith("…") for s in summaries)
    assert issue.headline.summary in rendered.html.replace("&#8217;", "’")
    assert issue.headline.summary in rendered.text.replace("\n", " ")
    for card in issue.cards:
        cut = shorten(card.summary)
        assert cut.removesuffix("…") in " ".join(rendered.text.split())


def test_shorten_prefers_a_sentence_end_then_a_word() -> None:
    assert shorten("Short enough.") == "Short enough."
    sentences = "A sentence that runs on for quite a long while, indeed. " * 3 + "The rest " * 40
    cut = shorten(sentences)
    assert cut.endswith("indeed.") and len(cut) <= CARD_SUMMARY_CHARS
    words = "word " * 100
    cut = shorten(words)
    assert cut.endswith("word…") and len(cut) <= CARD_SUMMARY_CHARS + 1
    assert shorten("x" * 215) == "x" * 215  # at most a tenth over: left whole


def test_an_item_date_shows_only_when_it_is_older_than_the_issue(nato: tuple[Settings, Issue]) -> None:
    settings, issue = nato
    old = replace(issue.cards[0], published=datetime(2023, 10, 2, 9, 0, tzinfo=ZoneInfo("Europe/Brussels")))
    rendered = render_issue(settings, replace(issue, cards=(old, *issue.cards[1:])))
    times = re.findall(r'<time datetime="([\d-]+)">([^<]+)</time>', rendered.html)
    assert times == [("2023-11-17", "17 November 2023"), ("2023-10-02", "2 October 2023")]
    assert re.findall(r"^\d+ \w+ 2023$", rendered.text, re.M) == ["17 November 2023", "2 October 2023"]


@pytest.mark.skipif(
    "image_width" not in {f.name for f in fields(Item)}, reason="items carry no image size in this version"
)
def test_images_of_known_size_get_width_and_height(nato: tuple[Settings, Issue]) -> None:
    """Evolution, with remote images blocked, draws an image without a height as a square."""
    settings, issue = nato
    sized = {"image_width": 552, "image_height": 289}
    headline = replace(issue.headline, **sized)
    card = replace(issue.cards[0], **{"image_width": 184, "image_height": 96})
    unsized = replace(issue.cards[1], **{"image_width": 0, "image_height": 0})
    page = render_issue(settings, replace(issue, headline=headline, cards=(card, unsized))).html
    images = lxml_html.fromstring(page).findall(".//img")
    assert [(i.get("width"), i.get("height")) for i in images] == [
        ("552", "289"),
        ("184", "96"),
        ("184", None),
    ]
    assert all("height:auto" in i.get("style") for i in images)  # the ratio holds when CSS narrows them


def test_the_html_is_lean(nato: tuple[Settings, Issue]) -> None:
    """Each card costs about a kilobyte and a half: Gmail clips near 102 KB."""
    settings, issue = nato
    small = render_issue(settings, replace(issue, cards=()))
    full = render_issue(settings, issue)
    per_card = (_size(full) - _size(small)) / len(issue.cards)
    assert per_card < 1800
    assert _size(full) < 32_000


def _size(rendered: RenderedIssue) -> int:
    return len(rendered.html.encode())
