"""Golden files: the NATO example's HTML and text part, compared with a fresh render.

A change to the templates or the renderer that changes the email fails here. When the change is
intended, refresh the files on purpose and review the diff:

    NEWSLETTER_REFRESH_GOLDEN=1 python -m pytest tests/test_render_golden.py

Run-dependent parts are blanked: the example's folder (in image file: URLs) becomes {EXAMPLE}. The
per-recipient values stay as their @@tokens@@.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import EXAMPLE

from newsletter import store
from newsletter.collect import collect
from newsletter.config import load_settings
from newsletter.models import RenderedIssue
from newsletter.render import render_issue

# rendering: the issue is collected once per module, into a throwaway SQLite file
pytestmark = pytest.mark.sqlite_only

GOLDEN = Path(__file__).parent / "golden"
REFRESH = os.environ.get("NEWSLETTER_REFRESH_GOLDEN", "") not in ("", "0")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> RenderedIssue:
    settings = load_settings(EXAMPLE / "newsletter.toml")
    db = tmp_path_factory.mktemp("golden") / "golden.db"
    settings = settings.model_copy(
        update={"newsletter": settings.newsletter.model_copy(update={"database": str(db)})}
    )
    engine = store.open_engine(settings.database_url)
    issue, _ = collect(settings, engine, datetime(2023, 11, 17, 23, 59, tzinfo=ZoneInfo("Europe/Brussels")))
    engine.dispose()
    return render_issue(settings, issue)


def blank(text: str) -> str:
    return text.replace(EXAMPLE.resolve().as_uri(), "file://{EXAMPLE}")


def readable(html: str) -> str:
    """One tag per line, so that a failing comparison shows a useful diff."""
    return html.replace("><", ">\n<")


def check(name: str, actual: str) -> None:
    path = GOLDEN / name
    if REFRESH:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
        return
    assert path.exists(), f"{path} is missing: NEWSLETTER_REFRESH_GOLDEN=1 python -m pytest {__file__}"
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, (
        f"{name} differs from the golden file; if the change is intended, refresh it with "
        "NEWSLETTER_REFRESH_GOLDEN=1 python -m pytest tests/test_render_golden.py"
    )


def test_html_matches_the_golden_file(rendered: RenderedIssue) -> None:
    check("nato-2023-11-17.html", readable(blank(rendered.html)))


def test_text_matches_the_golden_file(rendered: RenderedIssue) -> None:
    check("nato-2023-11-17.txt", blank(rendered.text))


def test_subject_and_preheader(rendered: RenderedIssue) -> None:
    assert rendered.subject == "What's new at NATO: 17 November 2023"
    assert rendered.preheader == (
        "NATO Secretary General meets EU College of Commissioners · "
        "The European Union: a unique and essential partner for NATO"
    )
