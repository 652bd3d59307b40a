"""Rendering the NATO example: the seed digest's layout, structure every client needs, size, themes,
template overrides and errors that name the template file and line."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import EXAMPLE, ROOT, SHARED
from lxml import html as lxml_html

from newsletter import store
from newsletter.collect import collect
from newsletter.config import Settings, load_settings, parse_settings
from newsletter.errors import ConfigError, RenderError
from newsletter.models import Issue, Item
from newsletter.render import render_issue
from newsletter.render.html import check_mjml

# rendering: the issue is collected once per module, into a throwaway SQLite file
pytestmark = pytest.mark.sqlite_only

SEED = SHARED / "seeds" / "003_0c354c9cdce7235f.txt"
AS_OF = datetime(2023, 11, 17, 23, 59, tzinfo=ZoneInfo("Europe/Brussels"))


def example_settings(folder: Path, **changes: dict) -> Settings:
    """The example's config with sections changed, e.g. ``theme={"accent": "#123456"}``."""
    import tomllib

    data = tomllib.loads((EXAMPLE / "newsletter.toml").read_text())
    for section, values in changes.items():
        data[section] = {**data.get(section, {}), **values}
    data["newsletter"]["database"] = str(folder / "render.db")
    return parse_settings(data, EXAMPLE / "newsletter.toml")


@pytest.fixture(scope="module")
def nato(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, Issue]:
    """The example's issue of 17 November 2023 and its settings (a throwaway database)."""
    folder = tmp_path_factory.mktemp("render")
    settings = example_settings(folder)
    engine = store.open_engine(settings.database_url)
    issue, _ = collect(settings, engine, AS_OF)
    engine.dispose()
    return settings, issue


def visible_lines(page: str) -> list[str]:
    """The email's text as a reader meets it, top to bottom: image alt texts, headings, paragraphs,
    list items, links; the hidden preheader and empty (decorative) alt texts left out."""
    tree = lxml_html.fromstring(page)
    lines = []
    for el in tree.iter():
        if not isinstance(el.tag, str) or "display:none" in (el.get("style") or "").replace(" ", ""):
            continue
        if el.tag == "img":
            lines.append(el.get("alt", ""))
        elif el.tag in ("h1", "h2", "p", "li", "time") or _is_button(el):
            lines.append(el.text_content())
    return [" ".join(line.split()) for line in lines if line.strip()]


def _is_button(el: lxml_html.HtmlElement) -> bool:
    """The headline's button (a link alone in a cell) or a card's call to action."""
    return el.tag == "a" and (el.getparent().tag == "td" or "cta" in (el.get("class") or ""))


@pytest.mark.skipif(not SEED.is_file(), reason=f"{SEED} is not here (../shared beside the repository)")
def test_the_example_reads_like_the_seed_digest(nato: tuple[Settings, Issue]) -> None:
    """The seed's lines in the seed's order. The seed repeats each title as its image's alt text and
    gives whole summaries: here images are decorative (empty alt) and a card's summary may be cut
    short (at a sentence's end, or a word's with an ellipsis), so a repeated line is read once and a cut
    summary matches its start."""
    settings, issue = nato
    lines = visible_lines(render_issue(settings, issue).html)
    seed = [line.strip().lstrip("• ").strip() for line in SEED.read_text().splitlines() if line.strip()]
    seed = [line for i, line in enumerate(seed) if i == 0 or line != seed[i - 1]]
    position = 0
    for expected in seed:
        found = next(
            (
                i
                for i in range(position, len(lines))
                if lines[i] == expected
                or (len(lines[i]) > 100 and expected.startswith(lines[i].removesuffix("…")))
            ),
            None,
        )
        if found is None:
            pytest.fail(
                f"seed line not found in order: {expected!r}\nafter: {lines[max(0, position - 3) : position]}"
            )
        position = found + 1


def test_teasers_date_and_view_in_browser_come_before_the_headline(nato: tuple[Settings, Issue]) -> None:
    settings, issue = nato
    page = render_issue(settings, issue).html
    teaser = page.index(">Video: The European Union: a unique and essential partner for NATO<")
    date = page.index('<time datetime="2023-11-17">17 November 2023</time>')
    view = page.index(">View in browser<")
    headline = page.index("<h1")
    assert teaser < date < view < headline
    assert 'href="http://127.0.0.1:8025/archive/2023-W46"' in page


def test_footer_has_sender_address_reason_and_a_visible_unsubscribe_link(
    nato: tuple[Settings, Issue],
) -> None:
    settings, issue = nato
    page = render_issue(settings, issue).html
    footer = page[page.rindex('class="footer"') :]
    assert "NATO News" in footer and "Boulevard Leopold III, 1110 Brussels, Belgium" in footer
    assert "You receive this email because you subscribed to What&#39;s new at NATO." in footer.replace(
        "What's", "What&#39;s"
    )
    assert re.search(r'<a class="quiet" href="@@unsubscribe_url@@"[^>]*>Unsubscribe</a>', footer)
    assert ">View in browser<" in footer


def test_structure_every_client_needs(nato: tuple[Settings, Issue]) -> None:
    settings, issue = nato
    page = render_issue(settings, issue).html
    assert page.startswith("<!DOCTYPE html>")
    assert '<html lang="en"' in page
    assert '<meta name="color-scheme" content="light dark">' in page
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    # our phone rules keep their !important (premailer strip_important=False)
    phone = re.search(r"@media only screen and \(max-width: 479px\) \{(.*?)\n  \}", page, re.S)
    assert phone and "!important" in phone.group(1)
    assert "@media (prefers-color-scheme: dark)" in page
    # Outlook conditional comments survive inlining, balanced, and adjacent ones are merged into one
    # (as the reference MJML compiler does)
    opened = (
        page.count("<!--[if mso | IE]>") + page.count("<!--[if mso]>") + page.count("<!--[if lte mso 11]>")
    )
    assert opened > 4 and opened == page.count("<![endif]-->") - page.count("<!--<![endif]-->")
    assert not re.search(r"<!\[endif\]-->\s*<!--\[if mso \| IE\]>", page)
    # Outlook's fixed-width column cells fill the 552 px inside the sections' 24 px side padding
    assert set(re.findall(r"<td[^>]*vertical-align:top;width:(\d+)px;", page)) == {"552"}
    # no attribute that no client reads: vertical-align is CSS, not HTML
    assert " vertical-align=" not in page
    # nothing remote to fetch but the images: no stylesheet, no web font
    assert "<link" not in page and "@import" not in page and "@font-face" not in page
    assert "fonts.googleapis" not in page
    # MJML's reset stays in the head instead of being copied into every cell
    assert "mso-table-lspace:0; mso-table-rspace:0" not in page


def test_accessibility_lang_alt_headings_and_preheader(nato: tuple[Settings, Issue]) -> None:
    settings, issue = nato
    rendered = render_issue(settings, issue)
    tree = lxml_html.fromstring(rendered.html)
    images = tree.findall(".//img")
    assert len(images) == 1 + len(issue.cards)
    # the feed says nothing about its images: they are decorative, with an empty alt (not the title again)
    assert all(img.get("alt") == "" for img in images)
    assert [h.text_content() for h in tree.findall(".//h1")] == [issue.headline.title]
    h2 = [" ".join(h.text_content().split()) for h in tree.findall(".//h2")]
    assert h2 == [c.title for c in issue.cards] + ["More news"]
    preheader = tree.xpath("//body/div[1]")[0]
    style = preheader.get("style").replace(" ", "")
    assert "display:none" in style and "max-height:0" in style and "opacity:0" in style
    assert "color" not in style  # hidden by size, not by white-on-white text (a spam filter's rule)
    assert preheader.text_content().startswith(
        "NATO Secretary General meets EU College of Commissioners · The European Union"
    )
    assert rendered.preheader in preheader.text_content()


def test_the_video_card_says_watch_video(nato: tuple[Settings, Issue]) -> None:
    settings, issue = nato
    page = render_issue(settings, issue).html
    assert page.count(">Watch Video</a>") == 1
    assert page.count(">Read more</a>") == len(issue.cards)  # the headline's button and the other cards


def test_cards_without_image_summary_or_date_look_intended(nato: tuple[Settings, Issue]) -> None:
    settings, issue = nato
    bare = Item(title="A story with nothing but a title", link="https://example.org/bare")
    page = render_issue(settings, replace(issue, cards=(bare, *issue.cards))).html
    tree = lxml_html.fromstring(page)
    card = tree.xpath("//td[contains(@class, 'card')][.//a[@href='https://example.org/bare']]")[0]
    assert card.findall(".//img") == []  # no broken image
    assert card.xpath(".//*[contains(@class, 'kicker')]") == []  # no empty label line
    assert card.xpath(".//time") == []
    assert [p.get("class") for p in card.iter("p")] == []  # no empty summary paragraph
    assert card.xpath(".//a[@class='cta']")[0].text_content() == "Read more"
    assert not [p for p in tree.iter("p") if not p.text_content().strip()]


def test_text_part_mirrors_the_html_wrapped_at_78_columns(nato: tuple[Settings, Issue]) -> None:
    settings, issue = nato
    rendered = render_issue(settings, issue)
    text = rendered.text
    assert max(len(line) for line in text.splitlines() if "://" not in line) <= 78
    urls = [text.index(item.link) for item in issue.items]
    assert urls == sorted(urls), "the stories come in the HTML's order"
    html_urls = [
        rendered.html.index(f'href="{item.link}"', rendered.html.index("<h1")) for item in issue.items
    ]
    assert html_urls == sorted(html_urls)
    for item in issue.items:
        assert " ".join(item.title.split()[:6]) in " ".join(text.split())
    for item in issue.items:
        assert item.link in text and item.link in rendered.html
    assert "Unsubscribe: @@unsubscribe_url@@" in text
    assert "Boulevard Leopold III, 1110 Brussels, Belgium" in text


def _big_issue(issue: Issue, cards: int = 12, links: int = 6) -> Issue:
    stories = [c for c in issue.cards if not c.is_video]
    video = [c for c in issue.cards if c.is_video]
    many = [
        replace(stories[i % len(stories)], title=f"{stories[i % len(stories)].title} {i}")
        for i in range(cards)
    ]
    extra = [
        replace(issue.links[i % len(issue.links)], link=f"https://example.org/{i}") for i in range(links)
    ]
    return replace(issue, cards=tuple(many + video), links=tuple(extra))


def test_a_full_issue_fits_the_90_kb_budget(nato: tuple[Settings, Issue]) -> None:
    settings, issue = nato
    big = _big_issue(issue)
    rendered = render_issue(settings, big)
    assert len(rendered.html.encode()) <= 90_000
    assert rendered.warnings == ()
    assert rendered.html.count("<h2") == 13 + 1


def test_overflow_moves_the_last_cards_to_further_links_with_a_warning(
    nato: tuple[Settings, Issue], tmp_path: Path
) -> None:
    _, issue = nato
    settings = example_settings(tmp_path, issue={"max_html_bytes": 25_000})
    big = _big_issue(issue)
    rendered = render_issue(settings, big)
    size = len(rendered.html.encode())
    assert size <= 25_000
    assert len(rendered.warnings) == 1 and "moved the last" in rendered.warnings[0]
    moved = int(re.search(r"moved the last (\d+) card", rendered.warnings[0]).group(1))
    tree = lxml_html.fromstring(rendered.html)
    cards = [h.text_content() for h in tree.findall(".//h2")][:-1]
    further = [li.text_content().strip() for li in tree.xpath("//td[contains(@class, 'further')]//li")]
    assert len(cards) == len(big.cards) - moved
    assert further[:moved] == [c.title for c in big.cards[-moved:]]  # the moved cards lead the list
    # nothing more moved than needed: one card more would not fit
    assert (
        len(render_issue(example_settings(tmp_path, issue={"max_html_bytes": size + 500}), big).warnings) == 1
    )
    # the text part lists the moved stories too
    for card in big.cards[-moved:]:
        assert card.link in rendered.text


def test_theme_from_config(nato: tuple[Settings, Issue], tmp_path: Path) -> None:
    _, issue = nato
    logo = tmp_path / "logo.png"
    logo.write_bytes(b"\x89PNG\r\n\x1a\n")
    settings = example_settings(
        tmp_path,
        newsletter={"name": "Alliance Weekly", "language": "fr"},
        theme={"accent": "#f5c518", "logo": str(logo), "footer": "Because you asked for it."},
        sender={"postal_address": "1 Rue de la Loi, Bruxelles"},
    )
    page = render_issue(settings, issue).html
    assert '<html lang="fr"' in page
    assert f'src="{logo.as_uri()}"' in page and 'alt="Alliance Weekly"' in page
    assert "background-color:#f5c518" in page
    assert (
        "color:#102a43" in page.split("masthead")[1][:2000] or "#102a43" in page
    )  # dark text on a light accent
    assert "Because you asked for it." in page and "1 Rue de la Loi, Bruxelles" in page
    assert "17 novembre 2023" in page and "Lire la suite" in page and "Se désabonner" in page


def test_a_bad_accent_colour_is_named_when_the_config_is_read(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"\[theme\] accent 'blue-ish' is not a hex colour"):
        example_settings(tmp_path, theme={"accent": "blue-ish"})


def _with_templates(tmp_path: Path, files: dict[str, str]) -> Settings:
    folder = tmp_path / "templates"
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    return example_settings(tmp_path, newsletter={"templates": str(folder)})


def test_a_user_template_overrides_a_default_file_by_file(
    nato: tuple[Settings, Issue], tmp_path: Path
) -> None:
    _, issue = nato
    settings = _with_templates(
        tmp_path,
        {
            "partials/footer.mjml.j2": '<mj-section><mj-column><mj-text>Our own footer <a href="{{ unsubscribe_url }}">leave</a></mj-text></mj-column></mj-section>\n'
        },
    )
    page = render_issue(settings, issue).html
    assert "Our own footer" in page and "Boulevard Leopold III" not in page
    assert issue.headline.title in page  # the other defaults still apply


def test_a_user_template_extends_the_default(nato: tuple[Settings, Issue], tmp_path: Path) -> None:
    _, issue = nato
    settings = _with_templates(
        tmp_path,
        {
            "digest.mjml.j2": '{% extends "!default/digest.mjml.j2" %}\n'
            "{% block teasers %}<mj-text>Hello, {{ subscriber.first_name }}!</mj-text>{{ super() }}{% endblock %}\n",
            "digest.txt.j2": '{% extends "!default/digest.txt.j2" %}\n',
        },
    )
    rendered = render_issue(settings, issue)
    assert "Hello, @@first_name@@!" in rendered.html
    assert rendered.html.index("Hello,") < rendered.html.index(">Video: The European Union")


def test_jinja_syntax_error_names_the_file_and_line(nato: tuple[Settings, Issue], tmp_path: Path) -> None:
    _, issue = nato
    settings = _with_templates(
        tmp_path, {"partials/card.mjml.j2": "<mj-section>\n<mj-column>\n{% if item.image %\n"}
    )
    with pytest.raises(RenderError, match=r"partials/card\.mjml\.j2:3: ") as info:
        render_issue(settings, issue)
    assert str(tmp_path / "templates") in str(info.value)


def test_undefined_variable_names_the_file_and_line(nato: tuple[Settings, Issue], tmp_path: Path) -> None:
    _, issue = nato
    settings = _with_templates(
        tmp_path,
        {
            "partials/links.mjml.j2": "<mj-section>\n<mj-column>\n<mj-text>{{ labels.further }}{{ no_such_thing }}</mj-text>\n"
        },
    )
    with pytest.raises(
        RenderError, match=r"templates/partials/links\.mjml\.j2:3: 'no_such_thing' is undefined"
    ):
        render_issue(settings, issue)


@pytest.mark.parametrize(
    ("card", "line", "message"),
    [
        (
            "<mj-section>\n  <mj-column>\n    <mj-buton>Go</mj-buton>\n  </mj-column>\n</mj-section>\n",
            3,
            "unknown tag <mj-buton>",
        ),
        (
            "<mj-section>\n  <mj-column>\n    <mj-text>\n      {{ item.title }}\n  </mj-column>\n</mj-section>\n",
            3,
            "<mj-text> is not closed",
        ),
        (
            "<mj-section>\n  <mj-column>\n    <mj-text>{{ item.title }}</mj-text>\n</mj-section>\n",
            2,
            "<mj-column> is not closed",
        ),
    ],
    ids=["misspelt tag", "unclosed mj-text", "unclosed mj-column"],
)
def test_invalid_mjml_names_the_template_file_and_line(
    nato: tuple[Settings, Issue], tmp_path: Path, card: str, line: int, message: str
) -> None:
    _, issue = nato
    settings = _with_templates(tmp_path, {"partials/card.mjml.j2": card})
    with pytest.raises(RenderError) as info:
        render_issue(settings, issue)
    assert f"partials/card.mjml.j2:{line}: {message}" in str(info.value)


def test_check_mjml_accepts_html_inside_text() -> None:
    assert check_mjml('<mjml><mj-body><mj-text><p>a<br>b</p><img src="x"></mj-text></mj-body></mjml>') is None
    assert check_mjml("<mjml><mj-body><mj-text>a</mj-body></mjml>") == (
        1,
        "<mj-text> is not closed before </mj-body> on rendered line 1",
    )


def test_default_templates_ship_with_the_package() -> None:
    shipped = {p.relative_to(ROOT / "templates").as_posix() for p in (ROOT / "templates").rglob("*.j2")}
    assert {"digest.mjml.j2", "digest.txt.j2", "partials/card.mjml.j2", "partials/style.mjml.j2"} <= shipped
    assert load_settings(EXAMPLE / "newsletter.toml").issue.max_html_bytes == 90_000
