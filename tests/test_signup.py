"""Signups through `newsletter serve` over real HTTP on 127.0.0.1, delivering into a Maildir.

The server is the real command in a subprocess (test_web.serving); the confirmation emails are read
from its Maildir outbox. The client's address comes from X-Forwarded-For, which serve trusts from
127.0.0.1 (a proxy on the same machine), so each test chooses the clients its requests come from.
"""

from __future__ import annotations

import base64
import mailbox
import re
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from itertools import count
from pathlib import Path

import httpx
import pytest
from conftest import ROOT, free_port
from test_web import SECRET, serving

from newsletter import store
from newsletter.compose import list_id
from newsletter.config import Settings, load_settings
from newsletter.errors import ConfigError
from newsletter.models import SubscriberStatus
from newsletter.signup import confirmation_token, form_stamp, welcome_template
from newsletter.store import signups
from newsletter.store.journal import Journal
from newsletter.subscribers import add_subscriber, parse_csv, sync, unsubscribe_token

_clients = count(1)


def a_client() -> str:
    n = next(_clients)
    return f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"


@dataclass
class Site:
    url: str
    settings: Settings
    outbox: Path

    @property
    def engine(self):
        return store.open_engine(self.settings.database_url)

    def stamp(self, age: float = 10.0) -> str:
        return form_stamp(self.settings.secret, list_id(self.settings), time.time() - age)

    def sign_up(
        self,
        email: str,
        name: str = "",
        *,
        stamp: str | None = None,
        honeypot: str = "",
        client: str | None = None,
        http: httpx.Client | None = None,
        answer: str = "",
    ) -> httpx.Response:
        fields = {
            "email": email,
            "name": name,
            "website": honeypot,
            "stamp": self.stamp() if stamp is None else stamp,
            "answer": answer,
        }
        headers = {"X-Forwarded-For": client or a_client()}
        return (http or httpx).post(f"{self.url}/subscribe", data=fields, headers=headers, timeout=30)

    def row(self, email: str):
        return store.subscribers.get(self.engine, email)

    def mails(self) -> list[EmailMessage]:
        box = mailbox.Maildir(self.outbox, create=True)
        return [message_from_bytes(box.get_bytes(key), policy=policy.default) for key in box.iterkeys()]  # type: ignore[misc]

    def wait_for_mails(self, n: int) -> list[EmailMessage]:
        """The outbox once it holds ``n`` messages (the emails go out just after the answer)."""
        deadline = time.monotonic() + 30
        while len(found := self.mails()) < n and time.monotonic() < deadline:
            time.sleep(0.05)
        return found

    def counts(self) -> dict[str, int]:
        return signups.counts(self.engine)


def link_in(message: EmailMessage) -> str:
    body = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    found = re.search(r"https?://\S+/confirm/\S+", body)
    assert found, body
    return found[0]


SiteMaker = Callable[..., Site]


@pytest.fixture
def make_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SiteMaker]:
    """Starts `serve` for a config with the given extra lines in [subscribers], [web] and [newsletter]."""
    monkeypatch.setenv("NEWSLETTER_SECRET", SECRET)
    stack: list = []

    def make(subscribers: str = "", web: str = "", newsletter: str = "") -> Site:
        port = free_port()
        csv = "" if "csv =" in subscribers else 'csv = ""'
        config = tmp_path / "newsletter.toml"
        config.write_text(
            f'[newsletter]\nname = "The Test Weekly"\ndatabase = "news.db"\n{newsletter}\n'
            '[sender]\nfrom = "The Test Weekly <news@example.org>"\n'
            f"[subscribers]\n{csv}\n{subscribers}\n"
            '[delivery]\ntransport = "maildir"\nmaildir = "outbox"\n'
            f'[web]\nbase_url = "http://127.0.0.1:{port}"\n{web}\n'
        )
        settings = load_settings(config)
        engine = store.open_engine(settings.database_url)
        people = "email,name\nada@example.org,Ada\ngrace@example.org,Grace\n"
        sync(engine, parse_csv(people, "people.csv"), remove_missing=False)
        context = serving(config, port)
        url = context.__enter__()
        stack.append(context)
        return Site(url, settings, tmp_path / "outbox")

    yield make
    for context in stack:
        context.__exit__(None, None, None)


@pytest.fixture
def site(make_site: SiteMaker) -> Site:
    return make_site()


def test_the_page_has_the_form_in_the_newsletters_language(make_site: SiteMaker) -> None:
    site = make_site(newsletter='language = "fr"')
    page = httpx.get(f"{site.url}/subscribe")
    assert page.status_code == 200
    assert "S’abonner à The Test Weekly" in page.text and 'lang="fr"' in page.text
    for field in ('name="email"', 'name="name"', 'name="website"', 'name="stamp"'):
        assert field in page.text
    assert "script-src" not in page.headers["content-security-policy"]


def test_a_signup_is_confirmed_by_a_post_to_the_emailed_link_never_by_a_get(site: Site) -> None:
    spam = "Cheap pills http://spam.example"
    answer = site.sign_up("New.Reader@Example.org", spam)
    assert answer.status_code == 200 and "check your inbox" in answer.text
    row = site.row("new.reader@example.org")
    assert row.status == SubscriberStatus.PENDING and row.source == "form" and row.asked_at is not None

    (message,) = site.wait_for_mails(1)
    assert message["To"] == "new.reader@example.org"
    raw = message.as_bytes()
    assert b"spam" not in raw.lower() and b"pills" not in raw.lower()
    body = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "new.reader" not in body and "The Test Weekly" in message["Subject"]
    link = link_in(message)
    assert link.startswith(f"{site.url}/confirm/")
    token = link.rsplit("/", 1)[1]
    assert base64.urlsafe_b64encode(b"new.reader@example.org").decode()[:12] not in token

    scanned = httpx.get(link)  # what a mail scanner does: nothing changes
    assert scanned.status_code == 200 and "<script>" in scanned.text and "<button" in scanned.text
    assert "script-src 'sha256-" in scanned.headers["content-security-policy"]
    assert site.row("new.reader@example.org").status == SubscriberStatus.PENDING

    confirmed = httpx.post(link)
    assert confirmed.status_code == 200 and "You are subscribed" in confirmed.text
    row = site.row("new.reader@example.org")
    assert row.status == SubscriberStatus.ACTIVE and row.source == "form"
    assert row.asked_at is not None and row.confirmed_at is not None and row.name == spam
    again = httpx.post(link)  # twice: the same page, nothing else
    assert again.status_code == 200 and "You are subscribed" in again.text


def test_fifty_signups_of_one_address_send_one_email(make_site: SiteMaker) -> None:
    site = make_site(web="signups_per_client_per_hour = 0")
    with httpx.Client() as http, ThreadPoolExecutor(25) as pool:
        answers = list(pool.map(lambda _: site.sign_up("eager@example.org", http=http), range(50)))
    assert {a.status_code for a in answers} == {200}
    assert len({a.text for a in answers}) == 1
    assert site.counts() == {"requests": 50, "mailed": 1}
    assert len(site.wait_for_mails(1)) == 1
    time.sleep(0.5)  # were a second email on its way, it would be in the outbox by now
    assert len(site.mails()) == 1


def test_the_answer_is_the_same_for_new_pending_active_suppressed_and_forgotten_addresses(site: Site) -> None:
    engine = site.engine
    store.subscribers.unsubscribe(engine, "left@example.org", "test")
    add_subscriber(engine, "bounced@example.org")
    store.subscribers.set_status(engine, "bounced@example.org", SubscriberStatus.BOUNCED, "test")
    add_subscriber(engine, "erased@example.org")
    store.subscribers.forget(engine, "erased@example.org")
    site.sign_up("waiting@example.org")
    addresses = [
        "brand.new@example.org",
        "waiting@example.org",
        "ada@example.org",
        "left@example.org",
        "bounced@example.org",
        "erased@example.org",
    ]
    answers = [site.sign_up(a) for a in addresses]
    assert {(a.status_code, a.text) for a in answers} == {(answers[0].status_code, answers[0].text)}
    assert answers[0].status_code == 200
    # Still where they were: only the emailed link changes a suppressed or forgotten address.
    assert site.row("left@example.org").status == SubscriberStatus.UNSUBSCRIBED
    assert site.row("bounced@example.org").status == SubscriberStatus.BOUNCED
    assert site.row("erased@example.org") is None
    assert site.row("ada@example.org").status == SubscriberStatus.ACTIVE
    # A confirmation for each but the active address; the pending one was mailed once, earlier.
    mails = site.wait_for_mails(5)
    assert sorted(m["To"] for m in mails) == sorted(a for a in addresses if a != "ada@example.org")


@pytest.mark.parametrize(
    ("what", "form"),
    [
        ("honeypot", {"honeypot": "http://spam.example"}),
        ("too fast", {"stamp": "now"}),
        ("forged stamp", {"stamp": "1700000000000.forged"}),
    ],
)
def test_a_bots_signup_is_answered_as_usual_and_does_nothing(site: Site, what: str, form: dict) -> None:
    if form.get("stamp") == "now":
        form = {"stamp": site.stamp(age=0)}
    reference = site.sign_up("person@example.org")
    answer = site.sign_up("bot@example.org", **form)
    assert (answer.status_code, answer.text) == (reference.status_code, reference.text), what
    assert site.row("bot@example.org") is None
    assert site.counts() == {"requests": 1, "mailed": 1}  # the person's only
    assert [m["To"] for m in site.wait_for_mails(1)] == ["person@example.org"]


def test_a_form_posted_from_another_site_without_a_stamp_comes_back_to_be_sent_from_ours(site: Site) -> None:
    answer = site.sign_up("pasted@example.org", stamp="")
    assert answer.status_code == 200 and "One more step" in answer.text
    assert 'value="pasted@example.org"' in answer.text
    stamp = re.search(r'name="stamp" value="([^"]+)"', answer.text)
    assert stamp and stamp[1]
    assert site.counts()["requests"] == 0 and site.row("pasted@example.org") is None


WORDS = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]


def solve(page: str) -> tuple[str, str]:
    """(stamp, answer) as a person reads them off the page."""
    stamp = re.search(r'name="stamp" value="([^"]+)"', page)
    asked = re.search(r"what is (\w+) plus (\w+)\?", page)
    assert stamp and asked, page
    return stamp[1], str(WORDS.index(asked[1]) + WORDS.index(asked[2]) + 2)


def test_the_optional_question_lets_people_in_and_keeps_wrong_answers_out(make_site: SiteMaker) -> None:
    site = make_site(web="signup_question = true\nsignup_min_seconds = 0")
    page = httpx.get(f"{site.url}/subscribe").text
    stamp, answer = solve(page)
    for wrong in ("", str(int(answer) + 1), "eleventy"):
        refused = site.sign_up("person@example.org", stamp=stamp, answer=wrong)
        assert refused.status_code == 400 and "That answer was not right" in refused.text
        assert 'value="person@example.org"' in refused.text
        assert solve(refused.text)[0] != stamp  # a new question each time
    assert site.counts()["requests"] == 0 and site.mails() == []
    taken = site.sign_up("person@example.org", stamp=stamp, answer=answer)
    assert taken.status_code == 200 and "check your inbox" in taken.text
    (message,) = site.wait_for_mails(1)
    assert message["To"] == "person@example.org"
    # Without the setting, the form asks nothing.
    assert "plus" not in httpx.get(f"{make_site().url}/subscribe").text


def test_an_invalid_address_gets_a_clear_message(site: Site) -> None:
    answer = site.sign_up("ada@example")
    assert answer.status_code == 400
    assert "not an email address we can use" in answer.text and 'value="ada@example"' in answer.text
    assert site.counts()["requests"] == 0


def test_one_client_is_limited_to_its_signups_an_hour(make_site: SiteMaker) -> None:
    site = make_site(web="signups_per_client_per_hour = 3")
    answers = [site.sign_up(f"reader{i}@example.org", client="192.0.2.7") for i in range(5)]
    assert len({(a.status_code, a.text) for a in answers}) == 1
    other = site.sign_up("reader5@example.org", client="192.0.2.8")
    assert other.status_code == 200
    assert site.counts() == {"requests": 6, "mailed": 4}
    assert site.row("reader4@example.org") is None
    mails = site.wait_for_mails(4)
    assert sorted(m["To"] for m in mails) == [f"reader{i}@example.org" for i in (0, 1, 2, 5)]
    stored = signups.counts(site.engine)
    assert stored["requests"] == 6
    with site.engine.connect() as conn:
        values = conn.exec_driver_sql("SELECT address, client FROM signup_requests").all()
    assert all(len(a) == 64 and len(c) == 64 and "." not in a + c for a, c in values)  # hashes only


def test_an_unsubscribed_address_comes_back_only_through_the_link(site: Site) -> None:
    token = unsubscribe_token(site.settings.secret, list_id(site.settings), "grace@example.org")
    left = httpx.post(f"{site.url}/unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"})
    assert left.status_code == 200
    site.sign_up("grace@example.org")
    assert site.row("grace@example.org").status == SubscriberStatus.UNSUBSCRIBED
    (message,) = site.wait_for_mails(1)
    link = link_in(message)
    assert httpx.post(link).status_code == 200
    row = site.row("grace@example.org")
    assert row.status == SubscriberStatus.ACTIVE and row.confirmed_at is not None
    # The suppression journal beside the config lets the address back in: the next send keeps it.
    assert Journal(site.settings.journal_path).reconcile(site.engine) == 0
    assert site.row("grace@example.org").status == SubscriberStatus.ACTIVE
    # Leaving again after the link was made: the same link no longer brings the address back.
    store.subscribers.unsubscribe(site.engine, "grace@example.org", "one-click unsubscribe")
    stale = httpx.post(link)
    assert stale.status_code == 400 and "not valid or has expired" in stale.text
    assert site.row("grace@example.org").status == SubscriberStatus.UNSUBSCRIBED


def test_a_forgotten_address_comes_back_through_the_link(site: Site) -> None:
    store.subscribers.forget(site.engine, "ada@example.org")
    Journal(site.settings.journal_path).add(["ada@example.org"])  # as `subscribers forget` does
    site.sign_up("ada@example.org", "Ada")
    assert site.row("ada@example.org") is None  # nothing stored about them until they confirm
    (message,) = site.wait_for_mails(1)
    assert httpx.post(link_in(message)).status_code == 200
    row = site.row("ada@example.org")
    assert row.status == SubscriberStatus.ACTIVE and row.source == "form" and row.name == ""
    assert Journal(site.settings.journal_path).reconcile(site.engine) == 0
    assert not store.subscribers.is_forgotten(site.engine, "ada@example.org")


def test_a_link_that_is_altered_or_older_than_seven_days_does_nothing(site: Site) -> None:
    secret, name = site.settings.secret, list_id(site.settings)
    site.sign_up("late@example.org")
    old = confirmation_token(secret, name, "late@example.org", time.time() - 8 * 86400)
    fresh = confirmation_token(secret, name, "late@example.org", time.time())
    altered = fresh[:-4] + ("AAAA" if not fresh.endswith("AAAA") else "BBBB")
    for token in (old, altered, "nonsense"):
        for method in (httpx.get, httpx.post):
            answer = method(f"{site.url}/confirm/{token}")
            assert answer.status_code == 400 and "not valid or has expired" in answer.text
    assert site.row("late@example.org").status == SubscriberStatus.PENDING


def test_without_double_opt_in_a_new_address_is_active_at_once_and_welcomed(
    make_site: SiteMaker, tmp_path: Path
) -> None:
    (tmp_path / "welcome.txt").write_text(
        "Welcome to {{ newsletter.name }}!\nPast issues: {{ archive_url }}\nLeave: {{ unsubscribe_url }}\n"
    )
    site = make_site(subscribers='double_opt_in = false\nwelcome = "welcome.txt"')
    store.subscribers.unsubscribe(site.engine, "left@example.org", "test")
    new, left = site.sign_up("quick@example.org", "Spammy Name"), site.sign_up("left@example.org")
    assert (new.status_code, new.text) == (left.status_code, left.text)
    row = site.row("quick@example.org")
    assert row.status == SubscriberStatus.ACTIVE and row.confirmed_at is not None
    assert site.row("left@example.org").status == SubscriberStatus.UNSUBSCRIBED
    mails = {m["To"]: m for m in site.wait_for_mails(2)}
    welcome = mails["quick@example.org"]
    assert welcome["Subject"] == "Welcome to The Test Weekly" and welcome["List-Unsubscribe"]
    assert "Past issues: " in welcome.get_content() and b"Spammy" not in welcome.as_bytes()
    assert "/confirm/" in mails["left@example.org"].get_content()


def test_mirror_mode_refuses_signups(make_site: SiteMaker, tmp_path: Path) -> None:
    (tmp_path / "people.csv").write_text("email\nada@example.org\n")
    site = make_site(subscribers='csv = "people.csv"\nmirror = true')
    page = httpx.get(f"{site.url}/subscribe")
    assert "Signups are closed" in page.text and 'name="email"' not in page.text
    answer = site.sign_up("new@example.org")
    assert answer.status_code == 403 and "Signups are closed" in answer.text
    token = confirmation_token(site.settings.secret, list_id(site.settings), "new@example.org", time.time())
    assert httpx.post(f"{site.url}/confirm/{token}").status_code == 403
    assert site.row("new@example.org") is None and site.counts()["requests"] == 0 and site.mails() == []


def test_the_readme_form_posts_the_fields_the_server_reads() -> None:
    readme = (ROOT / "README.md").read_text()
    form = re.search(
        r'<form action="https://news.example.org/subscribe" method="post">.*?</form>', readme, re.S
    )
    assert form, "the README's signup form"
    names = set(re.findall(r'name="([^"]+)"', form[0]))
    assert names == {"email", "name", "website"}


@pytest.mark.sqlite_only  # reads a template; opens no database
@pytest.mark.parametrize(
    ("template", "subject", "message"),
    [
        ("Hello {{ subscriber.name }}", "Welcome", "'subscriber' is undefined"),
        ("Hello {% if %}", "Welcome", "welcome.txt:1"),
        ("Hello", "Welcome to {newsletter}", "welcome_subject: cannot fill in 'newsletter'"),
    ],
)
def test_a_welcome_template_that_cannot_render_stops_serve_at_start(
    tmp_path: Path, template: str, subject: str, message: str
) -> None:
    (tmp_path / "welcome.txt").write_text(template)
    config = tmp_path / "newsletter.toml"
    config.write_text(f'[subscribers]\nwelcome = "welcome.txt"\nwelcome_subject = "{subject}"\n')
    with pytest.raises(ConfigError) as caught:
        welcome_template(load_settings(config))
    assert message in str(caught.value)


@pytest.mark.sqlite_only  # compares dictionaries; opens no database
def test_every_sentence_of_the_pages_and_emails_is_in_english_and_french() -> None:
    from newsletter.signup import EMAIL_TEXT
    from newsletter.web import PAGE_TEXT

    assert set(PAGE_TEXT["en"]) == set(PAGE_TEXT["fr"])
    assert set(EMAIL_TEXT["en"]) == set(EMAIL_TEXT["fr"])
