"""The example's unsubscribe link, followed in a real browser (headless Chromium) against `newsletter serve`.

Chromium is driven over its DevTools protocol on a pipe (``--remote-debugging-pipe``: no port, no
extra package). Skipped when Chromium is not installed.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import mailbox
import os
import shutil
import subprocess
import time
from email.utils import parseaddr
from pathlib import Path
from typing import Any

import pytest
from conftest import free_port, run_cli
from test_web import SECRET, serving

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")


def _high_fd(fd: int) -> int:
    high = fcntl.fcntl(fd, fcntl.F_DUPFD, 10)
    os.close(fd)
    return high


class Browser:
    """Headless Chromium and one page, over the DevTools protocol on a pair of pipes."""

    def __init__(self, profile: Path) -> None:
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        # Out of the way of 3 and 4, which the shell below points at them.
        to_browser_r, from_browser_w = (_high_fd(fd) for fd in (to_browser_r, from_browser_w))
        flags = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            "--remote-debugging-pipe",
            f"--user-data-dir={profile}",
            "--window-size=800,700",
        ]
        # Chromium reads commands on fd 3 and writes answers on fd 4.
        self.process = subprocess.Popen(
            ["bash", "-c", f'exec "$0" "$@" 3<&{to_browser_r} 4>&{from_browser_w}', str(CHROMIUM), *flags],
            pass_fds=(to_browser_r, from_browser_w),
            stdout=subprocess.DEVNULL,
            stderr=(profile.parent / "chromium.log").open("w"),
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        self.call("Page.enable", session=True)

    def _read(self, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while b"\0" not in self._buffer:
            if time.monotonic() > deadline:
                raise TimeoutError("Chromium did not answer")
            chunk = os.read(self._from_browser, 65536)
            if not chunk:
                raise RuntimeError("Chromium closed its DevTools pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def call(self, method: str, session: bool = False, timeout: float = 30, **params: Any) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = self.session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        while True:
            answer = self._read(timeout)
            if answer.get("id") == self._next_id:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return answer.get("result", {})
            self.events.append(answer)

    def wait_for(self, event: str, timeout: float = 30) -> None:
        while True:
            for i, seen in enumerate(self.events):
                if seen.get("method") == event:
                    del self.events[: i + 1]
                    return
            self.events.append(self._read(timeout))

    def open(self, url: str) -> None:
        self.events.clear()
        self.call("Page.navigate", session=True, url=url)
        self.wait_for("Page.loadEventFired")

    def evaluate(self, expression: str) -> Any:
        return self.call("Runtime.evaluate", session=True, expression=expression, returnByValue=True)[
            "result"
        ].get("value")

    def click(self, selector: str) -> None:
        """Click like a person: a real mouse press and release at the element's centre."""
        box = self.evaluate(
            f"(() => {{ const r = document.querySelector({json.dumps(selector)}).getBoundingClientRect();"
            " return [r.x + r.width / 2, r.y + r.height / 2]; })()"
        )
        self.events.clear()
        for kind in ("mousePressed", "mouseReleased"):
            self.call(
                "Input.dispatchMouseEvent",
                session=True,
                type=kind,
                x=box[0],
                y=box[1],
                button="left",
                clickCount=1,
            )

    def screenshot(self, path: Path) -> None:
        path.write_bytes(base64.b64decode(self.call("Page.captureScreenshot", session=True)["data"]))

    def close(self) -> None:
        with contextlib.suppress(RuntimeError, TimeoutError, OSError):
            self.call("Browser.close", timeout=5)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._to_browser)
        os.close(self._from_browser)


def unsubscribe_link(outbox: Path, address: str) -> str:
    for message in mailbox.Maildir(outbox, create=False):
        if address in message["To"]:
            return message["List-Unsubscribe"].split(",")[0].strip().strip("<>")
    raise AssertionError(f"no message to {address} in {outbox}")


def test_the_examples_unsubscribe_link_in_a_browser_removes_that_subscriber_from_the_next_send(
    example: Path, tmp_path: Path
) -> None:
    port = free_port()
    example.write_text(example.read_text().replace("http://127.0.0.1:8025", f"http://127.0.0.1:{port}"))
    env = {"NEWSLETTER_SECRET": SECRET}
    first = run_cli("--config", str(example), "send", "--as-of", "2023-11-17", env=env)
    assert first.returncode == 0, first.stderr
    outbox = example.parent / "outbox"
    link = unsubscribe_link(outbox, "grace@example.org")
    assert link.startswith(f"http://127.0.0.1:{port}/unsubscribe/")

    browser = Browser(tmp_path / "profile")
    try:
        with serving(example, port):
            browser.open(link)
            assert (
                browser.evaluate("document.querySelector('h1').textContent")
                == "Unsubscribe from What's new at NATO?"
            )
            listed = run_cli("--config", str(example), "subscribers", "list", "--status", "active", env=env)
            assert "grace@example.org" in listed.stdout  # loading the page changed nothing
            browser.click("button[type=submit]")
            browser.wait_for("Page.loadEventFired")
            assert browser.evaluate("document.querySelector('h1').textContent") == "You are unsubscribed"
            browser.screenshot(tmp_path / "unsubscribed.png")
    finally:
        browser.close()

    listed = run_cli("--config", str(example), "subscribers", "list", "--status", "unsubscribed", env=env)
    assert "grace@example.org" in listed.stdout and "unsubscribed on the web page" in listed.stdout

    # The next week's issue: one more story in the feed, and Grace is not among its recipients.
    feed = example.parent / "feed.xml"
    story = (
        "<item><title>A story of the next week</title><link>https://www.nato.int/next-week.htm</link>"
        "<description>Something happened.</description><pubDate>Mon, 20 Nov 2023 10:00:00 GMT</pubDate></item>"
    )
    feed.write_text(feed.read_text().replace("<item>", story + "<item>", 1))
    before = set(mailbox.Maildir(outbox, create=False).iterkeys())
    second = run_cli("--config", str(example), "send", "--as-of", "2023-11-24", env=env)
    assert second.returncode == 0, second.stderr
    box = mailbox.Maildir(outbox, create=False)
    recipients = sorted(parseaddr(box[key]["To"])[1] for key in box.iterkeys() if key not in before)
    assert recipients == ["ada@example.org", "linus@example.org", "margaret@example.org"]
