"""The example email in a real browser: headless Chromium at 600 px (a desktop reading pane) and 375 px
(a phone), in light and dark mode and with every <style> removed (what Gmail's apps show for other
accounts), driven over its DevTools protocol; what a screen reader is given, from Chromium's
accessibility tree. Skipped, with the reason, when Chromium is not installed (.ci/run installs
Debian's chromium)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli

from newsletter.render.browser import Browser, BrowserError, Page, View, find_chromium

try:
    find_chromium()
    NO_BROWSER = ""
except BrowserError as exc:
    NO_BROWSER = f"Chromium is not installed, so the email cannot be checked in a browser: {exc.message}"

pytestmark = [
    pytest.mark.skipif(bool(NO_BROWSER), reason=NO_BROWSER),
    pytest.mark.sqlite_only,  # the email in a browser; the preview's database is incidental
]

# Everything measured in one pass, in the page.
MEASURE = """(() => {
  const width = window.innerWidth;
  const box = (el) => { const r = el.getBoundingClientRect();
    return {top: r.top + scrollY, bottom: r.bottom + scrollY, left: r.left, right: r.right, width: r.width, height: r.height}; };
  const shown = (el) => { const s = getComputedStyle(el); const r = el.getBoundingClientRect();
    return s.display !== 'none' && s.visibility !== 'hidden' && r.width > 0 && r.height > 0; };
  const preheader = document.body.firstElementChild;
  const overflowing = [...document.body.querySelectorAll('*')]
    .filter((el) => !preheader.contains(el) && shown(el) && el.getBoundingClientRect().right > width + 0.5)
    .map((el) => el.tagName + '.' + el.className + ': ' + (el.textContent || '').trim().slice(0, 40));
  const firstLine = (el) => { const r = el.getClientRects()[0]; return {top: r.top + scrollY, left: r.left, right: r.right}; };
  return {
    width, scrollWidth: document.documentElement.scrollWidth, overflowing,
    headings: [...document.querySelectorAll('h1, h2')].map((h) => ({tag: h.tagName, text: h.textContent.trim(), shown: shown(h), ...box(h)})),
    titles: [...document.querySelectorAll('h1 a, h2 a')].map((a) => ({text: a.textContent.trim(), first: firstLine(a)})),
    images: [...document.images].map((img) => ({src: img.src, loaded: img.complete && img.naturalWidth > 0,
      shown: shown(img), thumb: img.classList.contains('thumb'), ...box(img)})),
    targets: [...document.querySelectorAll('a.cta, .list a, a.quiet, .button a')].map((a) => ({text: a.textContent.trim(), ...box(a)})),
    texts: [...document.querySelectorAll('h1, h2, .card p, .further a, .dateline')].map((el) => ({text: el.textContent.trim().slice(0, 30), ...box(el), first: firstLine(el)})),
    dividers: [...document.querySelectorAll('td.card')].map((td) => getComputedStyle(td).borderTopWidth),
  };
})()"""

CONTRAST = """(() => {
  const rgb = (c) => c.match(/[\\d.]+/g).slice(0, 3).map(Number);
  const lum = (c) => { const [r, g, b] = rgb(c).map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const background = (el) => { for (; el; el = el.parentElement) { const c = getComputedStyle(el).backgroundColor;
    if (c && !c.endsWith(', 0)') && c !== 'transparent') return c; } return 'rgb(255, 255, 255)'; };
  return [...document.querySelectorAll('h1, h1 a, h2 a, .card p, .kicker, .list a, a.cta, .button a, .dateline, .footer p, .footer a')].map((el) => {
    const a = lum(getComputedStyle(el).color), b = lum(background(el));
    return {text: el.textContent.trim().slice(0, 30), ratio: (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)};
  });
})()"""

VIEWS = [
    pytest.param(width, scheme, styles, id=f"{width}-{scheme}{'' if styles else '-nostyle'}")
    for width in (600, 375)
    for scheme, styles in (("light", True), ("dark", True), ("light", False))
]
HEADLINE = "NATO Secretary General meets EU College of Commissioners"
STORY_TITLES = 1 + 9  # the headline, then 8 stories and the video as cards


@pytest.fixture(scope="module")
def email_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example previewed through the real command: issue.html with its local images."""
    import shutil

    from conftest import EXAMPLE, ROOT

    target = tmp_path_factory.mktemp("browser") / "nato"
    shutil.copytree(EXAMPLE, target, ignore=shutil.ignore_patterns("outbox", "*.db", "*.db-*", "*.send-lock"))
    config = target / "newsletter.toml"
    config.write_text(
        config.read_text().replace('"../../subscribers.example.csv"', f'"{ROOT}/subscribers.example.csv"')
    )
    result = run_cli(
        "--config", str(config), "preview", "--as-of", "2023-11-17", "--out", str(target / "preview")
    )
    assert result.returncode == 0, result.stderr
    return target / "preview" / "issue.html"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with Browser() as chromium:
        yield chromium


def open_page(
    browser: Browser, email_file: Path, width: int, scheme: str = "light", styles: bool = True
) -> Page:
    view = View(width, scheme, styles)
    page = browser.new_page(width)
    page.open(email_file.as_uri(), view)
    return page


@pytest.mark.parametrize(("width", "scheme", "styles"), VIEWS)
def test_the_email_fits_and_reads_in_order(
    browser: Browser, email_file: Path, width: int, scheme: str, styles: bool
) -> None:
    m: dict[str, Any] = open_page(browser, email_file, width, scheme, styles).evaluate(MEASURE)
    # nothing overflows horizontally: no sideways scrolling on a phone
    assert m["scrollWidth"] <= width, m["overflowing"]
    assert m["overflowing"] == []
    # the headline comes first, then every card and the further links, top to bottom as in the source
    headings = m["headings"]
    assert [h["tag"] for h in headings] == ["H1"] + ["H2"] * 10
    assert headings[0]["text"] == HEADLINE
    assert all(h["shown"] for h in headings)
    tops = [h["top"] for h in headings]
    assert tops == sorted(tops) and len(set(tops)) == len(tops)
    # one divider per card, never two (the double divider of stacked columns)
    assert m["dividers"] == ["1px"] * 9
    # every image loaded, visible, inside the page and no wider than its slot
    images = m["images"]
    assert len(images) == STORY_TITLES
    for img in images:
        assert img["loaded"] and img["shown"], img
        assert img["right"] <= width and img["left"] >= 0, img
    lead, thumbs = images[0], images[1:]
    assert not lead["thumb"] and all(t["thumb"] for t in thumbs)
    margin = 0 if styles else 8  # the body's default margin, which MJML's reset removes
    assert lead["width"] <= 552 and lead["width"] >= min(552, width - 2 * 24 - 2 * margin) - 1
    slot = 184 if width >= 480 and styles else 112  # phone-sized where no @media applies
    assert all(t["width"] <= slot + 0.5 for t in thumbs)
    # images keep their shape (1.91:1 here): nothing squashed
    for img in images:
        assert abs(img["width"] / img["height"] - 600 / 315) < 0.05, img
    # text is not indented: titles, summaries and lists start at the column's edge
    left = min(t["first"]["left"] for t in m["texts"])
    assert [t["text"] for t in m["texts"] if abs(t["first"]["left"] - left) >= 1] == []


@pytest.mark.parametrize(("width", "styles"), [(600, True), (375, True), (375, False)])
def test_a_thumbnail_sits_beside_its_title(
    browser: Browser, email_file: Path, width: int, styles: bool
) -> None:
    m = open_page(browser, email_file, width, styles=styles).evaluate(MEASURE)
    titles = m["titles"][1:]
    for img, title in zip(m["images"][1:], titles, strict=True):
        # at the end of the title's first line, level with it, never centred above the text
        assert title["first"]["right"] <= img["left"] - 12, (img, title)
        assert abs(title["first"]["top"] - img["top"]) < 12, (img, title)
        assert img["right"] >= width - 24 - 1 - (8 if not styles else 0)


def test_the_headline_leads_on_a_phone(browser: Browser, email_file: Path) -> None:
    m = open_page(browser, email_file, 375).evaluate(MEASURE)
    lead, thumbs = m["images"][0], m["images"][1:]
    assert lead["width"] >= 375 - 2 * 24 - 1  # across the column
    assert all(lead["width"] * lead["height"] >= 6 * t["width"] * t["height"] for t in thumbs)
    assert m["headings"][0]["height"] > 0 and lead["top"] < m["headings"][0]["top"]


@pytest.mark.parametrize("width", [600, 375])
def test_tap_targets_are_at_least_44_px_high(browser: Browser, email_file: Path, width: int) -> None:
    targets = open_page(browser, email_file, width).evaluate(MEASURE)["targets"]
    assert len(targets) >= 9 + 2 + 4 + 3  # calls to action, teasers, further links, footer and dateline links
    small = [t for t in targets if t["height"] < 44]
    assert small == []


def test_only_local_files_are_requested(browser: Browser, email_file: Path) -> None:
    page = open_page(browser, email_file, 600)
    assert page.requests, "the page's own request is seen"
    assert [url for url in page.requests if not url.startswith(("file:", "data:"))] == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_text_stays_legible_in_light_and_dark_mode(browser: Browser, email_file: Path, scheme: str) -> None:
    page = open_page(browser, email_file, 375, scheme)
    ratios = page.evaluate(CONTRAST)
    assert len(ratios) > 20
    poor = [r for r in ratios if r["ratio"] < 4.5]  # WCAG AA for body text
    assert poor == []
    background = page.evaluate("getComputedStyle(document.querySelector('.sheet')).backgroundColor")
    assert (background == "rgb(255, 255, 255)") == (scheme == "light")


def test_the_dark_palette_has_its_own_block_for_thunderbird(browser: Browser, email_file: Path) -> None:
    """Thunderbird ignores @media inside <style> but honours <style media="(prefers-color-scheme: dark)">,
    with its message inside .moz-text-html: that block alone must give the designed palette."""
    page = open_page(browser, email_file, 600, "dark")
    page.evaluate(
        "document.querySelectorAll('style:not([media])').forEach((s) => s.textContent = s.textContent.replace(/prefers-color-scheme/g, 'x-none'));"
        "document.body.classList.add('moz-text-html'); 0"
    )
    colours = page.evaluate(
        """(() => { const c = (sel, prop) => getComputedStyle(document.querySelector(sel))[prop];
        return {sheet: c('.sheet', 'backgroundColor'), h2: c('h2 a', 'color'), h1: c('h1 a', 'color'),
                divider: c('td.card', 'borderTopColor'), list: c('.list a', 'color')}; })()"""
    )
    assert colours["sheet"] == "rgb(27, 34, 41)"
    assert colours["h1"] == colours["h2"] == colours["list"] == "rgb(245, 247, 250)"
    assert colours["divider"] == "rgb(51, 78, 104)"
    # and without .moz-text-html (any other client ignoring the media attribute) nothing changes
    page = open_page(browser, email_file, 600, "light")
    page.evaluate(
        "document.querySelectorAll('style:not([media])').forEach((s) => s.remove());"
        "document.querySelectorAll('style[media]').forEach((s) => s.media = 'all'); 0"
    )
    assert page.evaluate("getComputedStyle(document.querySelector('.sheet')).backgroundColor") == (
        "rgb(255, 255, 255)"
    )


def _accessible_links(page: Page) -> list[tuple[str, str]]:
    """(name, url) of every link a screen reader is given, from Chromium's accessibility tree."""
    page.send("Accessibility.enable")
    links = []
    for node in page.send("Accessibility.getFullAXTree")["nodes"]:
        if node.get("ignored") or node.get("role", {}).get("value") != "link":
            continue
        url = next((p["value"]["value"] for p in node.get("properties", []) if p["name"] == "url"), "")
        links.append((" ".join(node.get("name", {}).get("value", "").split()), url))
    return links


def test_a_screen_reader_meets_each_story_once_by_its_title(browser: Browser, email_file: Path) -> None:
    page = open_page(browser, email_file, 600)
    links = _accessible_links(page)
    stories = page.evaluate(
        "[...document.querySelectorAll('h1 a, td.card h2 a')].map((a) => [a.textContent.trim(), a.href])"
    )
    teasers = set(page.evaluate("[...document.querySelectorAll('.teasers a')].map((a) => a.href)"))
    assert len(stories) == STORY_TITLES
    for title, url in stories:
        named = [name for name, target in links if target == url]
        # the story's own link, plus its line in the teaser list at the top; the image and the
        # "Read more" button are hidden from assistive technology and the tab order
        assert len(named) == (2 if url in teasers else 1), (title, named)
        assert " ".join(title.split()) in named
    # every link says where it goes: no "Read more" or "Watch Video" out of context
    assert all(name for name, _ in links)
    assert not [name for name, _ in links if name in ("Read more", "Watch Video")]
    # images add nothing the title does not say: decorative, out of the accessibility tree
    images = [
        n
        for n in page.send("Accessibility.getFullAXTree")["nodes"]
        if not n.get("ignored") and n.get("role", {}).get("value") in ("image", "img")
    ]
    assert images == []
    # the hidden links cannot be reached with the Tab key either
    hidden = page.evaluate("[...document.querySelectorAll('a[aria-hidden=\"true\"]')].map((a) => a.tabIndex)")
    assert len(hidden) == 1 + STORY_TITLES and set(hidden) == {-1}  # the headline's image, every button
    # dates are machine-readable
    times = page.evaluate("[...document.querySelectorAll('time')].map((t) => [t.dateTime, t.textContent])")
    assert times == [["2023-11-17", "17 November 2023"]]
