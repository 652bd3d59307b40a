"""`newsletter preview` as the editor runs it: files, screenshots, a [TEST] copy, the live preview server."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import SmtpServer, run_cli, use_smtp
from zygote import newsletter_process

from newsletter import store
from newsletter.config import load_settings
from newsletter.render.browser import BrowserError, find_chromium

try:
    find_chromium()
    NO_BROWSER = ""
except BrowserError as exc:
    NO_BROWSER = f"Chromium is not installed: {exc.message}"

AS_OF = ("--as-of", "2023-11-17")


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_preview_writes_html_text_and_eml(example: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run_cli("--config", str(example), "preview", *AS_OF, "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "subject: What's new at NATO: 17 November 2023" in result.stdout
    html = (out / "issue.html").read_text()
    assert "@@" not in html and "Alex Reader" not in html  # tokens filled for the preview subscriber
    assert (out / "issue.txt").read_text().startswith("What's new at NATO\n17 November 2023\n")
    assert (out / "issue.eml").read_bytes().startswith(b"From: NATO News <news@example.org>")


@pytest.mark.skipif(bool(NO_BROWSER), reason=NO_BROWSER or "-")
def test_screenshots_at_desktop_and_phone_width_dark_and_without_style(example: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run_cli("--config", str(example), "preview", *AS_OF, "--out", str(out), "--screenshots")
    assert result.returncode == 0, result.stderr
    names = ("desktop", "phone", "dark", "nostyle")
    shots = {name: out / f"issue-{name}.png" for name in names}
    for path in shots.values():
        assert f"png:     {path}" in result.stdout
    sizes = {name: png_size(path) for name, path in shots.items()}
    assert [sizes[name][0] for name in names] == [600, 375, 375, 375]
    (_, dh), (_, ph) = sizes["desktop"], sizes["phone"]
    assert dh > 2000 and ph > dh  # the whole email, taller on a phone
    assert sizes["dark"] == sizes["phone"]  # the same layout, other colours
    assert shots["dark"].read_bytes() != shots["phone"].read_bytes()
    assert sizes["nostyle"][1] > 2000  # the whole email still, from its inline styles


def test_screenshots_without_a_browser_say_what_to_install(example: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    env = {"PATH": str(tmp_path / "empty"), "NEWSLETTER_CHROMIUM": ""}
    result = run_cli("--config", str(example), "preview", *AS_OF, "--out", str(out), "--screenshots", env=env)
    assert result.returncode == 1
    assert "no Chromium browser found" in result.stderr
    assert "apt-get install chromium" in result.stderr and "NEWSLETTER_CHROMIUM" in result.stderr
    assert (out / "issue.html").exists(), "the preview files are still written"


def test_to_sends_one_test_copy_and_touches_no_delivery_records(
    example: Path, smtp_server: SmtpServer
) -> None:
    use_smtp(example, smtp_server.host, smtp_server.port)
    result = run_cli("--config", str(example), "preview", *AS_OF, "--to", "Editor <editor@example.org>")
    assert result.returncode == 0, result.stderr
    assert "sent:    a [TEST] copy to Editor <editor@example.org> (smtp)" in result.stdout
    assert len(smtp_server.received) == 1
    message = smtp_server.received[0]
    assert message.recipients == ["editor@example.org"]
    assert message.message["Subject"] == "[TEST] What's new at NATO: 17 November 2023"
    assert message.message["To"].addresses[0].addr_spec == "editor@example.org"
    assert (
        "NATO Secretary General meets EU College of Commissioners"
        in message.message.get_body(("html",)).get_content()
    )
    settings = load_settings(example)
    engine = store.open_engine(settings.database_url)
    row = store.issues.get(engine, "2023-W46")
    assert row is not None and row.state == "draft"
    assert store.ledger.counts(engine, row.id) == {}
    assert store.subscribers.get(engine, "editor@example.org") is None
    engine.dispose()
    # the real send afterwards reaches every subscriber
    sent = run_cli("--config", str(example), "send", *AS_OF)
    assert sent.returncode == 0, sent.stderr
    assert len(smtp_server.received) == 1 + 4


def test_to_rejects_something_that_is_not_an_address(example: Path) -> None:
    result = run_cli("--config", str(example), "preview", *AS_OF, "--to", "not an address")
    assert result.returncode == 1
    assert "'not an address' is not an email address" in result.stderr


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (127.0.0.1 only)
        return response.read().decode()


def _wait_for(condition, timeout: float = 15.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out waiting")


def test_serve_renders_again_when_a_template_or_the_config_changes(example: Path, tmp_path: Path) -> None:
    templates = example.parent / "mytemplates" / "partials"
    templates.mkdir(parents=True)
    footer = templates / "footer.mjml.j2"
    footer.write_text(
        '<mj-section><mj-column><mj-text>First footer <a href="{{ unsubscribe_url }}">x</a></mj-text></mj-column></mj-section>\n'
    )
    example.write_text(
        example.read_text().replace(
            'database = "newsletter.db"', 'database = "newsletter.db"\ntemplates = "mytemplates"'
        )
    )
    process = newsletter_process(
        [
            "--config",
            str(example),
            "preview",
            *AS_OF,
            "--out",
            str(tmp_path / "out"),
            "--serve",
            "--port",
            "0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200"},
    )
    try:
        url = ""
        for line in process.stdout:  # type: ignore[union-attr]
            if line.startswith("serving the preview at "):
                url = line.split()[4]
                break
        assert url.startswith("http://127.0.0.1:"), process.stderr.read() if process.stderr else ""
        assert json.loads(_get(url + "version")) == {"version": 1, "error": ""}
        assert "First footer" in _get(url + "email")
        page = _get(url)
        assert (
            'src="/email" width="600"' in page and 'src="/email" width="375"' in page and "/version" in page
        )
        # the email's images (file: URLs) are served, and no other file
        image = _get(url + "email").split('src="/files/', 1)[1].split('"', 1)[0]
        assert urllib.request.urlopen(url + "files/" + image, timeout=10).status == 200  # noqa: S310
        for other in ("etc/passwd", str(example.parent / "newsletter.db").lstrip("/")):
            with pytest.raises(urllib.error.HTTPError):
                urllib.request.urlopen(url + "files/" + other, timeout=10)  # noqa: S310

        footer.write_text(footer.read_text().replace("First footer", "Second footer"))
        _wait_for(lambda: json.loads(_get(url + "version"))["version"] == 2)
        assert "Second footer" in _get(url + "email")

        footer.write_text("<mj-section>\n<mj-column>\n{{ oops }}\n")
        error = _wait_for(lambda: json.loads(_get(url + "version"))["error"])
        assert "mytemplates/partials/footer.mjml.j2:3: 'oops' is undefined" in error
        assert "Second footer" in _get(url + "email"), "the last good email stays"
        assert "oops" in _get(url)

        example.write_text(example.read_text().replace('accent = "#004990"', 'accent = "#7b1fa2"'))
        footer.write_text(
            '<mj-section><mj-column><mj-text>Third footer <a href="{{ unsubscribe_url }}">x</a></mj-text></mj-column></mj-section>\n'
        )
        _wait_for(lambda: "#7b1fa2" in _get(url + "email") and "Third footer" in _get(url + "email"))
        assert json.loads(_get(url + "version"))["error"] == ""
    finally:
        process.terminate()
        process.wait(timeout=10)
