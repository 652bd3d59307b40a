"""`newsletter serve` over real HTTP on 127.0.0.1: one-click unsubscribe, the way back in, the archive.

The server is the real command (`python -m newsletter serve`) in a subprocess, on a free port,
against a real database (a SQLite file, or PostgreSQL) that the tests read and write too.
"""

from __future__ import annotations

import base64
import os
import re
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import httpx
import pytest
from conftest import free_port
from zygote import newsletter_process

from newsletter import pipeline, store
from newsletter.collect import as_of_moment
from newsletter.compose import list_id
from newsletter.config import Settings, load_settings
from newsletter.models import DeliveryResult
from newsletter.subscribers import _signed as first_release_signed
from newsletter.subscribers import add_subscriber, parse_csv, resubscribe_token, sync, unsubscribe_token
from newsletter.transports import MemoryTransport

SECRET = "test-secret-for-links"


def first_release_token(secret: str, list_id: str, email: str) -> str:
    """An unsubscribe link as the first release made them (the address in base64, signed)."""
    return first_release_signed(secret, "", list_id, email)


ONE_CLICK = "List-Unsubscribe=One-Click"


@contextmanager
def serving(config: Path, port: int, secret: str | None = SECRET) -> Iterator[str]:
    """Run `newsletter serve` for ``config`` on ``port``; yield its base URL once it answers."""
    env = {**os.environ, "NEWSLETTER_SECRET": secret or ""}
    env.pop("NEWSLETTER_CONFIG", None)
    if secret is None:
        del env["NEWSLETTER_SECRET"]
    log = (config.parent / "serve.log").open("w")
    process = newsletter_process(
        ["--config", str(config), "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"newsletter serve exited: {process.stderr.read() if process.stderr else ''}"
                )
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        errors = (config.parent / "serve.log").read_text()
        assert "Traceback" not in errors, errors


@dataclass
class Site:
    url: str
    settings: Settings

    @property
    def engine(self):
        return store.open_engine(self.settings.database_url)

    def token(self, email: str) -> str:
        return unsubscribe_token(self.settings.secret, list_id(self.settings), email)

    def unsubscribe_url(self, email: str) -> str:
        return f"{self.url}/unsubscribe/{self.token(email)}"

    def status(self, email: str) -> tuple[str, str]:
        row = store.subscribers.get(self.engine, email)
        assert row is not None
        return row.status, row.cause

    def snapshot(self) -> list[tuple]:
        return [(r.email, r.status, r.cause, r.changed_at) for r in store.subscribers.iterate(self.engine)]


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    monkeypatch.setenv("NEWSLETTER_SECRET", SECRET)
    port = free_port()
    config = tmp_path / "newsletter.toml"
    config.write_text(
        '[newsletter]\nname = "The Test Weekly"\ndatabase = "news.db"\n'
        '[sender]\nfrom = "The Test Weekly <news@example.org>"\n'
        '[subscribers]\ncsv = ""\n'
        f'[web]\nbase_url = "http://127.0.0.1:{port}"\n'
    )
    settings = load_settings(config)
    engine = store.open_engine(settings.database_url)
    people = "email,name\nada@example.org,Ada\ngrace@example.org,Grace\nlinus@example.org,Linus\n"
    sync(engine, parse_csv(people, "people.csv"), remove_missing=False)
    with serving(config, port) as url:
        yield Site(url, settings)


def multipart_one_click() -> tuple[bytes, str]:
    boundary = "----one-click-7d1a"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\nOne-Click\r\n--{boundary}--\r\n'
    ).encode()
    return body, f"multipart/form-data; boundary={boundary}"


def test_one_click_post_urlencoded(site: Site) -> None:
    response = httpx.post(
        site.unsubscribe_url("ada@example.org"),
        content=ONE_CLICK,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )
    assert response.status_code == 200
    assert "location" not in response.headers
    assert "You are unsubscribed" in response.text and "The Test Weekly" in response.text
    assert site.status("ada@example.org") == ("unsubscribed", "one-click unsubscribe")
    assert site.status("grace@example.org") == ("active", "import")
    # again: still 200, and the first record (time and cause) stays
    before = site.snapshot()
    assert (
        httpx.post(
            site.unsubscribe_url("ada@example.org"), data={"List-Unsubscribe": "One-Click"}
        ).status_code
        == 200
    )
    assert site.snapshot() == before


def test_a_post_with_an_odd_body_still_unsubscribes(site: Site) -> None:
    """Any POST to a valid link is the subscriber's click: an empty, huge or malformed body too."""
    huge = httpx.post(
        site.unsubscribe_url("ada@example.org"),
        content=b"List-Unsubscribe=One-Click&" + b"x" * 1_000_000,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert huge.status_code == 200
    broken = httpx.post(
        site.unsubscribe_url("grace@example.org"),
        content=b"--nothing\r\n",
        headers={"Content-Type": "multipart/form-data; boundary=other"},
    )
    assert broken.status_code == 200
    assert httpx.post(site.unsubscribe_url("linus@example.org")).status_code == 200
    assert {e: (s, c) for e, s, c, _ in site.snapshot()} == {
        "ada@example.org": ("unsubscribed", "one-click unsubscribe"),
        "grace@example.org": ("unsubscribed", "one-click unsubscribe"),
        "linus@example.org": ("unsubscribed", "one-click unsubscribe"),
    }


def test_one_click_post_multipart(site: Site) -> None:
    body, content_type = multipart_one_click()
    response = httpx.post(
        site.unsubscribe_url("grace@example.org"),
        content=body,
        headers={"Content-Type": content_type},
        follow_redirects=False,
    )
    assert response.status_code == 200 and "location" not in response.headers
    assert site.status("grace@example.org") == ("unsubscribed", "one-click unsubscribe")
    assert site.status("ada@example.org")[0] == "active"


def test_get_shows_a_button_and_changes_nothing_then_the_way_back_in(site: Site) -> None:
    url = site.unsubscribe_url("linus@example.org")
    before = site.snapshot()
    for _ in range(3):
        page = httpx.get(url)
        assert page.status_code == 200
        assert httpx.head(url).status_code == 200
    assert site.snapshot() == before
    assert '<html lang="en">' in page.text
    assert "<title>Unsubscribe · The Test Weekly</title>" in page.text
    assert (
        '<form method="post" action="">' in page.text
        and '<button type="submit">Unsubscribe</button>' in page.text
    )
    assert "linus@example.org" in page.text
    assert page.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]

    # the button: the form's own POST
    done = httpx.post(url, data={"via": "page"})
    assert done.status_code == 200
    assert site.status("linus@example.org") == ("unsubscribed", "unsubscribed on the web page")
    action = re.search(r'<form method="post" action="([^"]+)">', done.text)
    assert action is not None and "Subscribe again" in done.text
    back_url = httpx.URL(url).join(action[1])
    assert back_url.path.startswith("/resubscribe/")
    assert httpx.get(back_url).status_code == 405  # a GET never changes anything here either
    assert site.status("linus@example.org")[0] == "unsubscribed"
    again = httpx.get(url)  # the link followed again: the way back in is still offered
    assert "You are unsubscribed" in again.text and action[0] in again.text
    back = httpx.post(back_url)
    assert back.status_code == 200 and "Welcome back" in back.text
    assert site.status("linus@example.org") == ("active", "resubscribed by the subscriber")
    assert {e: s for e, s, *_ in site.snapshot()} == {
        "ada@example.org": "active",
        "grace@example.org": "active",
        "linus@example.org": "active",
    }


def test_forged_altered_or_truncated_tokens_get_400_and_change_nothing(site: Site) -> None:
    ada = site.token("ada@example.org")
    grace = site.token("grace@example.org")
    flipped = ada[:30] + ("A" if ada[30] != "A" else "B") + ada[31:]
    foreign = unsubscribe_token("another-secret", list_id(site.settings), "ada@example.org")
    # a link of the first release's form (the address in base64, signed), forged in the same ways
    old = first_release_token(SECRET, list_id(site.settings), "ada@example.org")
    encoded, mac = old.split(".")
    old_flipped = mac[:10] + ("A" if mac[10] != "A" else "B") + mac[11:]
    forged = [
        ada[:-1],
        ada[:-10],
        flipped,
        grace[:16] + ada[16:],  # Grace's nonce with Ada's sealed address
        foreign,
        ada + "A",
        "%C3%BC" + ada,
        resubscribe_token(SECRET, list_id(site.settings), "ada@example.org"),  # the wrong purpose
        encoded,
        encoded + ".",
        f"{encoded}.{old_flipped}",
        f"{first_release_token(SECRET, list_id(site.settings), 'grace@example.org').split('.')[0]}.{mac}",
    ]
    before = site.snapshot()
    for token in forged:
        url = f"{site.url}/unsubscribe/{token}"
        assert httpx.get(url).status_code == 400, token
        response = httpx.post(url, data={"List-Unsubscribe": "One-Click"})
        assert response.status_code == 400, token
        assert "This link is not valid" in response.text
        body, content_type = multipart_one_click()
        assert httpx.post(url, content=body, headers={"Content-Type": content_type}).status_code == 400
    # the way back in is signed too: an unsubscribe token does not resubscribe
    store.subscribers.unsubscribe(site.engine, "grace@example.org", "one-click unsubscribe")
    before = site.snapshot()
    for token in (
        grace,
        grace[:-1],
        resubscribe_token("another-secret", list_id(site.settings), "grace@example.org"),
    ):
        assert httpx.post(f"{site.url}/resubscribe/{token}").status_code == 400
    assert site.snapshot() == before


def test_links_name_nobody_and_the_first_releases_links_still_work(site: Site) -> None:
    token = site.token("ada@example.org")
    assert "." not in token and b"ada" not in base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    assert site.token("ada@example.org") == token  # the same link every time for one address
    old = first_release_token(SECRET, list_id(site.settings), "grace@example.org")
    response = httpx.post(f"{site.url}/unsubscribe/{old}", data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert site.status("grace@example.org")[0] == "unsubscribed"


def test_a_thousand_concurrent_unsubscribes_are_all_recorded(site: Site) -> None:
    emails = [f"reader{i:04d}@example.org" for i in range(1000)]
    sync(site.engine, parse_csv("email\n" + "\n".join(emails) + "\n", "many.csv"), remove_missing=False)
    urls = [site.unsubscribe_url(e) for e in emails]
    multipart, multipart_type = multipart_one_click()
    limits = httpx.Limits(max_connections=50, max_keepalive_connections=50)

    with httpx.Client(limits=limits, timeout=120) as client:

        def one(i: int) -> int:
            if i % 2:
                return client.post(
                    urls[i], content=multipart, headers={"Content-Type": multipart_type}
                ).status_code
            return client.post(urls[i], data={"List-Unsubscribe": "One-Click"}).status_code

        with ThreadPoolExecutor(50) as pool:  # 50 clients at a time, half of them multipart
            codes = list(pool.map(one, range(1000)))
    assert codes == [200] * 1000
    counts = store.subscribers.count(site.engine)
    assert counts == {"unsubscribed": 1000, "active": 3}
    causes = {r.cause for r in store.subscribers.iterate(site.engine, status="unsubscribed")}
    assert causes == {"one-click unsubscribe"}


def test_unknown_pages_and_the_non_personal_unsubscribe_page(site: Site) -> None:
    assert httpx.get(f"{site.url}/nothing/here").status_code == 404
    assert httpx.get(f"{site.url}/archive/2001-W01").status_code == 404
    help_page = httpx.get(f"{site.url}/unsubscribe")
    assert help_page.status_code == 200 and "The Test Weekly" in help_page.text
    assert "mailto:news@example.org?subject=unsubscribe" in help_page.text
    empty = httpx.get(f"{site.url}/archive")
    assert empty.status_code == 200 and "No issue has been sent yet" in empty.text


# --- with a real issue: the NATO example ------------------------------------------------------


@pytest.fixture
def nato(example: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    monkeypatch.setenv("NEWSLETTER_SECRET", SECRET)
    port = free_port()
    example.write_text(example.read_text().replace("http://127.0.0.1:8025", f"http://127.0.0.1:{port}"))
    settings = load_settings(example)
    with serving(example, port) as url:
        yield Site(url, settings)


AS_OF = date(2023, 11, 17)


def test_an_unsubscribe_during_a_send_stops_that_recipients_message(nato: Site) -> None:
    """Margaret is second of 124; while the first message is being sent she clicks one-click unsubscribe.

    The send loop checks the rows not yet handed out whenever another connection wrote to the
    database, so the unsubscribe takes effect from the very next message.
    """
    margaret = "margaret@example.org"
    readers = [f"reader{i:03d}@example.org,Reader {i}" for i in range(120)]
    csv_path = nato.settings.path(nato.settings.subscribers.csv)
    head, *rows = csv_path.read_text().splitlines()
    hers = next(r for r in rows if r.startswith(margaret))
    others = [r for r in rows if r != hers]
    csv_path.write_text("\n".join([head, others[0], hers, *others[1:], *readers]) + "\n")
    engine = nato.engine

    class UnsubscribesMargaret(MemoryTransport):
        def send(self, sender: str, recipient: str, data: bytes) -> DeliveryResult:
            if not self.sent:
                response = httpx.post(nato.unsubscribe_url(margaret), data={"List-Unsubscribe": "One-Click"})
                assert response.status_code == 200
            return super().send(sender, recipient, data)

    transport = UnsubscribesMargaret()
    outcome = pipeline.send(
        nato.settings, engine, as_of_moment(AS_OF, nato.settings.zone), transport=transport
    )
    assert outcome.state == "sent", outcome.message
    recipients = [rcpt for _, rcpt, _ in transport.sent]
    assert margaret not in recipients
    assert len(recipients) == len(set(recipients)) == 123
    issue = store.issues.get(engine, outcome.period_key)
    assert issue is not None
    assert store.ledger.counts(engine, issue.id) == {"sent": 123, "skipped": 1}
    assert nato.status(margaret) == ("unsubscribed", "one-click unsubscribe")


def test_the_archive_shows_each_sent_issue_without_anything_personal(nato: Site) -> None:
    transport = MemoryTransport()
    outcome = pipeline.send(
        nato.settings, nato.engine, as_of_moment(AS_OF, nato.settings.zone), transport=transport
    )
    assert outcome.state == "sent" and len(transport.sent) == 4
    index = httpx.get(f"{nato.url}/archive")
    assert index.status_code == 200
    assert "Past issues of What&#39;s new at NATO" in index.text
    assert "What&#39;s new at NATO: 17 November 2023" in index.text
    assert 'href="archive/2023-W46"' in index.text
    assert httpx.get(f"{nato.url}/").text == index.text

    # the email's "View in browser" link opens the issue
    message = transport.sent[0][2].decode()
    view = re.search(r"(http://127\.0\.0\.1:\d+/archive/2023-W46)", message)
    assert view is not None
    page = httpx.get(view[1])
    assert page.status_code == 200
    assert "NATO Secretary General meets EU College of Commissioners" in page.text
    assert "@@" not in page.text
    for person in ("ada@example.org", "Ada", "Lovelace", "grace@", "linus@", "margaret@", "Hamilton"):
        assert person not in page.text
    assert "/unsubscribe/" not in page.text  # no one's personal link
    assert f'href="{nato.url}/unsubscribe"' in page.text
    assert "script-src 'none'" in page.headers["content-security-policy"]


def test_serve_warns_when_links_are_signed_with_the_default_secret(tmp_path: Path) -> None:
    config = tmp_path / "newsletter.toml"
    config.write_text('[newsletter]\ndatabase = "news.db"\n[subscribers]\ncsv = ""\n')
    with serving(config, free_port(), secret=None) as url:
        assert httpx.get(f"{url}/archive").status_code == 200
    log = " ".join((tmp_path / "serve.log").read_text().split())
    assert "$NEWSLETTER_SECRET is not set" in log and "openssl rand -hex 32" in log


def test_a_valid_link_for_an_address_no_longer_listed_still_suppresses_it(site: Site) -> None:
    """A signed link proves we mailed that address: its unsubscribe is kept even if the row was gone."""
    response = httpx.post(site.unsubscribe_url("former@example.org"), data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert site.status("former@example.org") == ("unsubscribed", "one-click unsubscribe")
    counts = sync(site.engine, parse_csv("email\nformer@example.org\n", "later.csv"), remove_missing=False)
    assert counts["added"] == 0 and counts["suppressed"] == 1
    assert site.status("former@example.org")[0] == "unsubscribed"


def test_the_pages_speak_the_newsletters_language(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSLETTER_SECRET", SECRET)
    port = free_port()
    config = tmp_path / "newsletter.toml"
    config.write_text(
        '[newsletter]\nname = "La Lettre"\nlanguage = "fr"\ndatabase = "news.db"\n'
        '[sender]\nfrom = "La Lettre <lettre@example.org>"\n[subscribers]\ncsv = ""\n'
        f'[web]\nbase_url = "http://127.0.0.1:{port}"\n'
    )
    site = Site(f"http://127.0.0.1:{port}", load_settings(config))
    add_subscriber(site.engine, "zoe@example.org", "Zoé")
    with serving(config, port):
        page = httpx.get(site.unsubscribe_url("zoe@example.org"))
        assert '<html lang="fr">' in page.text
        assert "<h1>Se désabonner de La Lettre ?</h1>" in page.text
        assert "zoe@example.org ne recevra plus La Lettre." in page.text
        done = httpx.post(site.unsubscribe_url("zoe@example.org"), data={"via": "page"})
        assert "Vous êtes désabonné(e)" in done.text and "Se réabonner" in done.text
        assert "Lien non valide" in httpx.get(f"{site.url}/unsubscribe/nope.nope").text
    assert site.status("zoe@example.org") == ("unsubscribed", "unsubscribed on the web page")
