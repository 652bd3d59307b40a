"""Signing up in a real browser (headless Chromium) against `newsletter serve`, then the next send.

The example newsletter delivers into its Maildir outbox, where the confirmation email is read.
Skipped when Chromium is not installed.
"""

from __future__ import annotations

import json
import mailbox
import re
import time
from email.utils import parseaddr
from pathlib import Path

import pytest
from conftest import free_port, run_cli
from test_web import SECRET, serving
from test_web_browser import CHROMIUM, Browser

from newsletter import store
from newsletter.config import load_settings
from newsletter.models import SubscriberStatus

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
ENV = {"NEWSLETTER_SECRET": SECRET}


def signup_site(example: Path) -> int:
    port = free_port()
    text = example.read_text().replace("http://127.0.0.1:8025", f"http://127.0.0.1:{port}")
    example.write_text(text + "signup_min_seconds = 0.5\n")  # [web] is the file's last table
    return port


def confirmation_link(outbox: Path, address: str) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for message in mailbox.Maildir(outbox, create=True):
            if parseaddr(message["To"])[1] == address:
                found = re.search(r"https?://\S+/confirm/\S+", message.get_payload(decode=True).decode())
                assert found
                return found[0]
        time.sleep(0.05)
    raise AssertionError(f"no confirmation email to {address} in {outbox}")


def heading(browser: Browser, expected: str) -> str:
    """The page's h1 once it reads ``expected`` (a page that submits itself loads twice)."""
    deadline = time.monotonic() + 30
    while True:
        text = browser.evaluate("document.querySelector('h1') && document.querySelector('h1').textContent")
        if text == expected or time.monotonic() > deadline:
            return text
        time.sleep(0.05)


def fill_in_and_subscribe(browser: Browser, url: str, address: str) -> None:
    browser.open(f"{url}/subscribe")
    assert heading(browser, "Subscribe to What's new at NATO") == "Subscribe to What's new at NATO"
    browser.evaluate("document.getElementById('email').focus()")
    browser.call("Input.insertText", session=True, text=address)
    time.sleep(0.6)  # a person takes longer than signup_min_seconds to fill in a form
    browser.click("button[type=submit]")
    browser.wait_for("Page.loadEventFired")
    assert heading(browser, "Almost done: check your inbox") == "Almost done: check your inbox"


def test_signing_up_in_a_browser_and_following_the_emailed_link_brings_the_next_issue(
    example: Path, tmp_path: Path
) -> None:
    port = signup_site(example)
    outbox = example.parent / "outbox"
    browser = Browser(tmp_path / "profile")
    try:
        with serving(example, port) as url:
            fill_in_and_subscribe(browser, url, "hedy@example.org")
            engine = store.open_engine(load_settings(example).database_url)
            assert store.subscribers.get(engine, "hedy@example.org").status == SubscriberStatus.PENDING
            link = confirmation_link(outbox, "hedy@example.org")
            browser.open(link)  # one click in the mail program: the page confirms by itself
            assert heading(browser, "You are subscribed") == "You are subscribed"
            browser.screenshot(tmp_path / "subscribed.png")
    finally:
        browser.close()
    row = store.subscribers.get(engine, "hedy@example.org")
    assert row.status == SubscriberStatus.ACTIVE and row.source == "form" and row.confirmed_at is not None

    before = set(mailbox.Maildir(outbox, create=False).iterkeys())
    sent = run_cli("--config", str(example), "send", "--as-of", "2023-11-17", env=ENV)
    assert sent.returncode == 0, sent.stderr
    box = mailbox.Maildir(outbox, create=False)
    recipients = {parseaddr(box[key]["To"])[1] for key in box.iterkeys() if key not in before}
    assert "hedy@example.org" in recipients and len(recipients) == 5


def test_with_scripts_off_the_link_confirms_with_the_button(example: Path, tmp_path: Path) -> None:
    port = signup_site(example)
    browser = Browser(tmp_path / "profile")
    try:
        with serving(example, port) as url:
            fill_in_and_subscribe(browser, url, "joan@example.org")
            link = confirmation_link(example.parent / "outbox", "joan@example.org")
            browser.call("Emulation.setScriptExecutionDisabled", session=True, value=True)
            browser.open(link)
            assert heading(browser, "Confirm your subscription to What's new at NATO") == (
                "Confirm your subscription to What's new at NATO"
            )
            engine = store.open_engine(load_settings(example).database_url)
            assert store.subscribers.get(engine, "joan@example.org").status == SubscriberStatus.PENDING
            browser.click("button[type=submit]")
            browser.wait_for("Page.loadEventFired")
            assert heading(browser, "You are subscribed") == "You are subscribed"
    finally:
        browser.close()
    assert store.subscribers.get(engine, "joan@example.org").status == SubscriberStatus.ACTIVE
    assert json.dumps(sorted(store.subscribers.count(engine))) == json.dumps(["active"])
