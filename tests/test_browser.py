"""The example email in a real browser: headless Chromium at 600 px (a desktop reading pane) and 375 px
(a phone), driven over its DevTools protocol. Skipped, with the reason, when Chromium is not installed
(.ci/run installs Debian's chromium)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli

from newsletter.render.browser import Browser, BrowserError, Page, find_chromium

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
    return {top: r.top + scrollY, left: r.left, right: r.right, width: r.width, height: r.height}; };
  const shown = (el) => { const s = getComputedStyle(el); const r = el.getBoundingClientRect();
    return s.display !== 'none' && s.visibility !== 'hidden' && r.width > 0 && r.height > 0; };
  const preheader = document.body.firstElementChild;
  const overflowing = [...document.body.querySelectorAll('*')]
    .filter((el) => !preheader.contains(el) && shown(el) && el.getBoundingClientRect().right > width + 0.5)
    .map((el) => el.tagName + '.' + el.className + ': ' + (el.textContent || '').trim().slice(0, 40));
  return {
    width, scrollWidth: document.documentElement.scrollWidth, overflowing,
    headings: [...document.querySelectorAll('h1, h2')].map((h) => ({tag: h.tagName, text: h.textContent.trim(), shown: shown(h), ...box(h)})),
    images: [...document.images].map((img) => ({alt: img.getAttribute('alt') || '', loaded: img.complete && img.naturalWidth > 0,
      shown: shown(img), ...box(img)})),
    targets: [...document.querySelectorAll('a.cta, .list a, a.quiet, .button a')].map((a) => ({text: a.textContent.trim(), ...box(a)})),
    texts: [...document.querySelectorAll('h2 a, .beside p, .list a')].map((el) => ({text: el.textContent.trim().slice(0, 30), ...box(el)})),
  };
})()"""

CONTRAST = """(() => {
  const rgb = (c) => c.match(/[\\d.]+/g).slice(0, 3).map(Number);
  const lum = (c) => { const [r, g, b] = rgb(c).map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const background = (el) => { for (; el; el = el.parentElement) { const c = getComputedStyle(el).backgroundColor;
    if (c && !c.endsWith(', 0)') && c !== 'transparent') return c; } return 'rgb(255, 255, 255)'; };
  return [...document.querySelectorAll('h1, h2 a, .beside p, .kicker, .list a, a.cta, .footer p, .footer a')].map((el) => {
    const a = lum(getComputedStyle(el).color), b = lum(background(el));
    return {text: el.textContent.trim().slice(0, 30), ratio: (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)};
  });
})()"""


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


def open_page(browser: Browser, email_file: Path, width: int) -> Page:
    page = browser.new_page(width)
    page.goto(email_file.as_uri())
    return page


@pytest.mark.parametrize("width", [600, 375])
def test_the_email_fits_and_shows_everything(browser: Browser, email_file: Path, width: int) -> None:
    page = open_page(browser, email_file, width)
    m: dict[str, Any] = page.evaluate(MEASURE)
    # nothing overflows horizontally: no sideways scrolling on a phone
    assert m["scrollWidth"] <= width, m["overflowing"]
    assert m["overflowing"] == []
    # the headline comes first, above every card, and is the only h1
    headings = m["headings"]
    assert headings[0]["tag"] == "H1" and headings[0]["text"].startswith(
        "NATO Secretary General meets EU College"
    )
    assert all(h["top"] > headings[0]["top"] for h in headings[1:])
    # every card (8 stories and the video) and the further links are visible
    assert [h["tag"] for h in headings] == ["H1"] + ["H2"] * 10
    assert all(h["shown"] for h in headings)
    # every image loaded, visible, inside the page, with alt text
    images = m["images"]
    assert len(images) == 10
    for img in images:
        assert img["alt"].strip(), img
        assert img["loaded"] and img["shown"], img
        assert img["right"] <= width and img["left"] >= 0, img
    # the headline image is the first and the largest
    assert images[0]["alt"].startswith("NATO Secretary General meets EU College")
    assert images[0]["width"] == max(i["width"] for i in images)


def test_phone_is_a_single_column_with_images_scaled(browser: Browser, email_file: Path) -> None:
    m = open_page(browser, email_file, 375).evaluate(MEASURE)
    cards = m["images"][1:]
    assert all(img["width"] >= 375 - 2 * 24 - 1 for img in cards), "card images take the full width"
    for text in m["texts"]:
        assert text["left"] >= 20 and text["right"] <= 375 - 20, text
    # each card's text is below its image, not beside it
    titles = [h for h in m["headings"] if h["tag"] == "H2"][:-1]
    for img, title in zip(cards, titles, strict=True):
        assert title["top"] > img["top"] + img["height"] - 1
        assert abs(title["left"] - img["left"]) < 1


def test_desktop_puts_the_thumbnail_beside_the_text(browser: Browser, email_file: Path) -> None:
    m = open_page(browser, email_file, 600).evaluate(MEASURE)
    titles = [h for h in m["headings"] if h["tag"] == "H2"][:-1]
    for img, title in zip(m["images"][1:], titles, strict=True):
        assert img["width"] == 184
        assert title["left"] >= img["right"] + 16
        assert abs(title["top"] - img["top"]) < 40


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
    page = browser.new_page(375)
    page.send("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": scheme}]})
    page.goto(email_file.as_uri())
    ratios = page.evaluate(CONTRAST)
    assert len(ratios) > 20
    poor = [r for r in ratios if r["ratio"] < 4.5]  # WCAG AA for body text
    assert poor == []
    background = page.evaluate("getComputedStyle(document.querySelector('.sheet')).backgroundColor")
    assert (background == "rgb(255, 255, 255)") == (scheme == "light")
