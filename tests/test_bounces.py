"""Bounces and complaints that arrive after the send: the example sends with a VERP return path into
its Maildir, notifications about those messages land in a bounce Maildir, and `newsletter bounces`
reads it as an operator would. Then the next send skips exactly the suppressed addresses, and
nothing unrelated was moved."""

from __future__ import annotations

import logging
import mailbox
import re
import shutil
import time
from email import message_from_bytes
from pathlib import Path

import httpx
import pytest
from conftest import free_port, run_cli
from imapd import imap  # noqa: F401 (the fixture)
from test_web import SECRET, serving

from newsletter import store
from newsletter.compose import list_id
from newsletter.config import load_settings
from newsletter.models import SubscriberStatus
from newsletter.render.browser import Browser
from newsletter.schedule import Daemon

AS_OF, NEXT, AFTER = "2023-11-17", "2023-11-24", "2023-12-01"
RETURN_PATH = "bounces@news.example.org"


def cli(example: Path, *args: str):  # type: ignore[no-untyped-def]
    return run_cli("--config", str(example), *args, env={"NEWSLETTER_SECRET": SECRET})


def with_bounces(example: Path, extra: str = "") -> Path:
    """The example sending with a VERP return path; its bounces arrive in a Maildir beside it."""
    text = example.read_text().replace(
        '[delivery]\ntransport = "maildir"',
        f'[delivery]\nreturn_path = "{RETURN_PATH}"\ntransport = "maildir"',
    )
    example.write_text(text + f'\n[bounces]\nmailbox = "maildir"\nmaildir = "bounces"\n{extra}\n')
    box = mailbox.Maildir(example.parent / "bounces", create=True)
    box.close()
    return example.parent / "bounces"


def sent_to(example: Path) -> dict[str, dict[str, str]]:
    """Each recipient's envelope sender and Message-ID, as the Maildir transport recorded them."""
    found = {}
    for path in (example.parent / "outbox" / "new").iterdir():
        msg = message_from_bytes(path.read_bytes())
        found[str(msg["Delivered-To"])] = {
            "return_path": str(msg["Return-Path"]).strip("<>"),
            "message_id": str(msg["Message-ID"]),
        }
    return found


def clear_outbox(example: Path) -> None:
    for path in (example.parent / "outbox" / "new").iterdir():
        path.unlink()


def original(rcpt: str, sent: dict[str, str], list_name: str) -> str:
    return (
        f"Return-Path: <{sent['return_path']}>\nFrom: NATO News <news@example.org>\nTo: {rcpt}\n"
        f"Subject: What's new at NATO\nMessage-ID: {sent['message_id']}\n"
        f"List-Id: What's new at NATO <{list_name}>\n"
    )


def postfix_dsn(
    rcpt: str, sent: dict[str, str], list_name: str, status: str, diagnostic: str, n: int
) -> bytes:
    """A delivery status notification as Postfix writes it."""
    action = "failed" if status.startswith("5") else "delayed"
    return (
        f"Return-Path: <>\nFrom: MAILER-DAEMON@relay.example.net (Mail Delivery System)\n"
        f"To: {sent['return_path']}\nSubject: Undelivered Mail Returned to Sender\n"
        f"Message-Id: <dsn-{n}@relay.example.net>\nAuto-Submitted: auto-replied\nMIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\n\n'
        "--B\nContent-Type: text/plain\n\nI'm sorry to have to inform you that your message could not\n"
        "be delivered to one or more recipients.\n\n"
        "--B\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; relay.example.net\n\n"
        f"Final-Recipient: rfc822; {rcpt}\nOriginal-Recipient: rfc822;{rcpt}\nAction: {action}\n"
        f"Status: {status}\nDiagnostic-Code: smtp; {diagnostic}\n\n"
        f"--B\nContent-Type: text/rfc822-headers\n\n{original(rcpt, sent, list_name)}\n--B--\n"
    ).encode()


def arf_complaint(sent: dict[str, str], list_name: str) -> bytes:
    """A feedback loop report: the recipient redacted, as providers do; the original's return path says who."""
    return (
        "From: staff@hotmail.example\nTo: bounces@news.example.org\nSubject: complaint about message\n"
        "Message-ID: <arf-1@hotmail.example>\nMIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=feedback-report; boundary="A"\n\n'
        "--A\nContent-Type: text/plain\n\nThis is an email abuse report.\n\n"
        "--A\nContent-Type: message/feedback-report\n\nFeedback-Type: abuse\nUser-Agent: Hotmail FBL\n"
        "Version: 1\nOriginal-Mail-From: <redacted>\n\n"
        f"--A\nContent-Type: message/rfc822\n\n{original('redacted', sent, list_name)}\nhello\n--A--\n"
    ).encode()


def vacation(rcpt: str, sent: dict[str, str]) -> bytes:
    return (
        f"From: {rcpt}\nTo: {sent['return_path']}\nSubject: Out of office: What's new at NATO\n"
        f"Auto-Submitted: auto-replied (vacation)\nIn-Reply-To: {sent['message_id']}\n"
        "Message-ID: <away-1@example.org>\n\nI am away until Monday.\n"
    ).encode()


UNRELATED = [
    b"From: reader@example.com\nTo: bounces@news.example.org\nSubject: a question\n"
    b"Message-ID: <q-1@example.com>\n\nHow do I change my address?\n",
    # A bounce of someone else's mail: a notification, but about no message of ours.
    b"From: MAILER-DAEMON@elsewhere.example\nTo: someone@elsewhere.example\nSubject: Undelivered Mail\n"
    b"Message-ID: <dsn-x@elsewhere.example>\nMIME-Version: 1.0\n"
    b'Content-Type: multipart/report; report-type=delivery-status; boundary="C"\n\n'
    b"--C\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; elsewhere.example\n\n"
    b"Final-Recipient: rfc822; nobody@elsewhere.example\nAction: failed\nStatus: 5.1.1\n\n"
    b"--C\nContent-Type: text/rfc822-headers\n\nMessage-ID: <abc@elsewhere.example>\nTo: nobody@elsewhere.example\n--C--\n",
    # A forged token: the right shape, not made with our secret.
    b"From: MAILER-DAEMON@relay.example.net\nTo: bounces+abcdefghijklmnopqrstuvwxyz@news.example.org\n"
    b"Subject: Undelivered Mail\nMessage-ID: <dsn-forged@relay.example.net>\nMIME-Version: 1.0\n"
    b'Content-Type: multipart/report; report-type=delivery-status; boundary="D"\n\n'
    b"--D\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; relay.example.net\n\n"
    b"Final-Recipient: rfc822; margaret@example.org\nAction: failed\nStatus: 5.1.1\n--D--\n",
]


def drop(folder: Path, raw: bytes) -> None:
    box = mailbox.Maildir(folder, create=False)
    box.add(raw)
    box.close()


def statuses(example: Path) -> dict[str, tuple[str, str]]:
    engine = store.open_engine(load_settings(example).database_url)
    try:
        return {row.email: (row.status, row.cause) for row in store.subscribers.iterate(engine)}
    finally:
        engine.dispose()


def test_verp_bounces_complaints_and_autoreplies_change_exactly_who_they_should(example: Path) -> None:
    folder = with_bounces(example)
    assert cli(example, "send", "--as-of", AS_OF).returncode == 0
    sent = sent_to(example)
    assert all(
        re.fullmatch(r"bounces\+[a-z2-7]{26}@news\.example\.org", s["return_path"]) for s in sent.values()
    )
    name = list_id(load_settings(example))
    drop(
        folder,
        postfix_dsn(
            "ada@example.org",
            sent["ada@example.org"],
            name,
            "5.1.1",
            "550 5.1.1 <ada@example.org>: Recipient address rejected: User unknown",
            1,
        ),
    )
    drop(folder, arf_complaint(sent["grace@example.org"], name))
    drop(folder, vacation("linus@example.org", sent["linus@example.org"]))
    for raw in UNRELATED:
        drop(folder, raw)

    read = cli(example, "bounces")
    assert read.returncode == 0, read.stderr
    out = " ".join(read.stdout.split())
    assert "read 6 message(s): 1 autoreply, 1 complaint, 3 permanent, 1 unrelated" in out, out
    assert (
        "moved 3 to 'Processed'; left 3 where they were (2 notification(s) about no message of ours)" in out
    )
    assert "bounced: ada@example.org" in out and "unsubscribed: grace@example.org" in out

    now = statuses(example)
    assert now["ada@example.org"][0] == SubscriberStatus.BOUNCED and "5.1.1" in now["ada@example.org"][1]
    assert now["grace@example.org"] == (SubscriberStatus.UNSUBSCRIBED, "complaint: marked as spam")
    assert now["linus@example.org"][0] == SubscriberStatus.ACTIVE  # an auto-reply is never a bounce
    assert now["margaret@example.org"][0] == SubscriberStatus.ACTIVE  # the forged token changed nothing
    # Unrelated mail stays where it was; what was ours is in the processed folder, not deleted.
    box = mailbox.Maildir(folder, create=False)
    left = sorted(box.get_bytes(k) for k in box.iterkeys())
    assert left == sorted(UNRELATED)
    assert len(box.get_folder("Processed")) == 3

    # Read again: nothing new, nothing counted twice.
    again = cli(example, "bounces")
    assert "read 3 message(s)" in again.stdout and "moved 0" in again.stdout

    listed = cli(example, "subscribers", "list", "--status", "bounced").stdout
    assert "ada@example.org" in listed and "User unknown" in " ".join(listed.split())
    shown = " ".join(cli(example, "subscribers", "show", "ada@example.org").stdout.split())
    assert "permanent 5.1.1 (issue 2023-W46, via mailbox): 550 5.1.1" in shown
    assert (
        "autoreply (issue 2023-W46, via mailbox)"
        in cli(example, "subscribers", "show", "linus@example.org").stdout
    )

    report = " ".join(cli(example, "report").stdout.split())
    assert "sent 4" in report and "bounced after the send 1 25.00%" in report
    assert "complaints 1 25.00%" in report and "auto-replies (not counted) 1" in report
    assert "over the 0.3%" in cli(example, "report").stderr

    # The next send skips exactly the suppressed addresses.
    clear_outbox(example)
    feed = example.parent / "feed.xml"
    feed.write_text(feed.read_text().replace("<item>", NEXT_WEEK_STORY + "<item>", 1))
    assert cli(example, "send", "--as-of", NEXT).returncode == 0
    assert sorted(sent_to(example)) == ["linus@example.org", "margaret@example.org"]

    # A wrong bounce is undone by the operator; a complaint is the person's and stays.
    assert cli(example, "subscribers", "restore", "ada@example.org").returncode == 0
    refused = cli(example, "subscribers", "restore", "grace@example.org")
    assert refused.returncode == 1 and "restore undoes only a bounce" in " ".join(refused.stderr.split())
    assert statuses(example)["ada@example.org"][0] == SubscriberStatus.ACTIVE


NEXT_WEEK_STORY = (
    "<item><title>A story of the next week</title><link>https://www.nato.int/next-week.htm</link>"
    "<description>Something happened.</description><pubDate>Mon, 20 Nov 2023 10:00:00 GMT</pubDate></item>"
)
WEEK_AFTER_STORY = (
    "<item><title>A story of the week after</title><link>https://www.nato.int/week-after.htm</link>"
    "<description>More happened.</description><pubDate>Mon, 27 Nov 2023 10:00:00 GMT</pubDate></item>"
)


def test_transient_bounces_suppress_only_after_the_limit_in_a_row(example: Path) -> None:
    folder = with_bounces(example, "transient_limit = 2")
    name = list_id(load_settings(example))
    feed = example.parent / "feed.xml"
    for n, (as_of, story) in enumerate(((AS_OF, ""), (NEXT, NEXT_WEEK_STORY), (AFTER, WEEK_AFTER_STORY))):
        if story:
            feed.write_text(feed.read_text().replace("<item>", story + "<item>", 1))
        clear_outbox(example) if (example.parent / "outbox" / "new").exists() else None
        assert cli(example, "send", "--as-of", as_of).returncode == 0
        sent = sent_to(example)
        if n == 2:
            assert "ada@example.org" not in sent  # suppressed after two issues in a row
            break
        drop(
            folder,
            postfix_dsn(
                "ada@example.org", sent["ada@example.org"], name, "4.2.2", "452 4.2.2 Mailbox full", n
            ),
        )
        cli(example, "bounces")
        expected = SubscriberStatus.ACTIVE if n == 0 else SubscriberStatus.BOUNCED
        assert statuses(example)["ada@example.org"][0] == expected, n
    assert "transient failures in the last 2 issues" in statuses(example)["ada@example.org"][1]


def test_the_webhook_reports_a_bounce_with_a_shared_secret(
    example: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_bounces(example)
    port = free_port()
    example.write_text(example.read_text().replace("http://127.0.0.1:8025", f"http://127.0.0.1:{port}"))
    assert cli(example, "send", "--as-of", AS_OF).returncode == 0
    sent = sent_to(example)
    monkeypatch.setenv("NEWSLETTER_WEBHOOK_SECRET", "hook-secret-0123456789")
    with serving(example, port) as base:
        hook = f"{base}/webhooks/feedback"
        body = {
            "type": "bounce",
            "return_path": sent["ada@example.org"]["return_path"],
            "status": "5.1.1",
            "diagnostic": "550 no such user",
            "id": "relay-event-1",
        }
        assert httpx.post(hook, json=body, timeout=10).status_code == 401
        assert (
            httpx.post(hook, json=body, headers={"Authorization": "Bearer wrong"}, timeout=10).status_code
            == 401
        )
        auth = {"Authorization": "Bearer hook-secret-0123456789"}
        bad = httpx.post(hook, json={"type": "bounce"}, headers=auth, timeout=10)
        assert bad.status_code == 400 and "email" in bad.json()["error"]
        first = httpx.post(hook, json=body, headers=auth, timeout=10)
        assert first.status_code == 200 and first.json()["suppressed"] == [
            {"email": "ada@example.org", "status": "bounced"}
        ]
        again = httpx.post(hook, json=body, headers=auth, timeout=10).json()
        assert again["matched"] and again["duplicate"]
        complaint = {"type": "complaint", "email": "grace@example.org"}
        assert (
            httpx.post(hook, json=complaint, headers=auth, timeout=10).json()["suppressed"][0]["status"]
            == "unsubscribed"
        )
        # Margaret leaves by the issue's one-click link: counted against that issue.
        msg = next(p for p in (example.parent / "outbox" / "new").iterdir() if b"margaret@" in p.read_bytes())
        header = str(message_from_bytes(msg.read_bytes())["List-Unsubscribe"])
        link = next(part.strip(" <>") for part in header.split(",") if "http" in part)
        assert httpx.post(link, data={"List-Unsubscribe": "One-Click"}, timeout=10).status_code == 200
        stranger = httpx.post(
            hook, json={"type": "bounce", "email": "who@elsewhere.example"}, headers=auth, timeout=10
        )
        assert stranger.json() == {"matched": False, "error": "it names none of our messages"}
    now = statuses(example)
    assert (
        now["ada@example.org"][0] == SubscriberStatus.BOUNCED
        and now["grace@example.org"][0] == SubscriberStatus.UNSUBSCRIBED
    )
    report = " ".join(cli(example, "report", "2023-W46").stdout.split())
    assert "unsubscribes from its links 1 25.00%" in report and "complaints 1 25.00%" in report
    status = " ".join(cli(example, "status").stdout.split())
    assert "issue 2023-W46: 4 sent, 0 failed, 0 deferred, 1 bounced after" in status, status
    shown = cli(example, "subscribers", "show", "ada@example.org").stdout
    assert "via webhook" in shown and shown.count("permanent") == 1  # the retried call counted once


def test_without_a_secret_the_webhook_does_not_exist(example: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()
    monkeypatch.delenv("NEWSLETTER_WEBHOOK_SECRET", raising=False)
    with serving(example, port) as base:
        assert (
            httpx.post(
                f"{base}/webhooks/feedback", json={"type": "bounce", "email": "a@b.c"}, timeout=10
            ).status_code
            == 404
        )


def test_the_html_report_charts_each_issue_in_a_real_browser(example: Path, tmp_path: Path) -> None:
    folder = with_bounces(example)
    name = list_id(load_settings(example))
    feed = example.parent / "feed.xml"
    for n, (as_of, story) in enumerate(((AS_OF, ""), (NEXT, NEXT_WEEK_STORY))):
        if story:
            feed.write_text(feed.read_text().replace("<item>", story + "<item>", 1))
            clear_outbox(example)
        assert cli(example, "send", "--as-of", as_of).returncode == 0
        sent = sent_to(example)
        who = ("ada@example.org", "grace@example.org")[n]
        drop(folder, postfix_dsn(who, sent[who], name, "5.1.1", "550 5.1.1 unknown user", n))
        assert cli(example, "bounces").returncode == 0
    page = tmp_path / "report.html"
    written = cli(example, "report", "--html", str(page))
    assert written.returncode == 0 and "2 issue(s)" in written.stdout, written.stderr
    assert "bounces at 25.00%: over 2%" in " ".join(written.stderr.split())
    with Browser() as chromium:
        tab = chromium.new_page(1000)
        tab.goto(page.resolve().as_uri())
        rows = tab.evaluate(
            "[...document.querySelectorAll('tbody tr, table tr')].slice(1).map(r => r.innerText)"
        )
        chart = tab.evaluate(
            "(() => { const s = document.querySelector('svg').getBoundingClientRect(); return [s.width, s.height]; })()"
        )
        shot = tab.screenshot()
    assert [r.split("\t")[:5] for r in rows] == [
        ["2023-W46", "4", "4", "0", "1"],
        ["2023-W47", "3", "3", "0", "1"],
    ]
    assert chart[0] > 500 and chart[1] > 300  # the chart is drawn, at a readable size
    assert shot.startswith(b"\x89PNG") and len(shot) > 20_000
    (tmp_path / "report.png").write_bytes(shot)


def test_the_daemon_reads_the_bounce_mailbox_on_its_own(
    example: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = with_bounces(example, "every_minutes = 0.01")
    assert cli(example, "send", "--as-of", AS_OF).returncode == 0
    sent = sent_to(example)
    settings = load_settings(example)
    drop(
        folder,
        postfix_dsn("ada@example.org", sent["ada@example.org"], list_id(settings), "5.1.1", "550 unknown", 1),
    )
    daemon = Daemon(settings, store.open_engine(settings.database_url))
    with caplog.at_level(logging.INFO, logger="newsletter.schedule"):
        report = daemon.start()
        try:
            assert any("reading the bounce mailbox every 0.01 minute(s)" in n for n in report.notes)
            deadline = time.monotonic() + 30
            while statuses(example)["ada@example.org"][0] != SubscriberStatus.BOUNCED:
                assert time.monotonic() < deadline, "the daemon did not read the bounce mailbox"
                time.sleep(0.1)
            # The mailbox gone: a warning at each reading, and the daemon goes on.
            folder.rename(folder.with_name("bounces-gone"))  # at once: the daemon may be reading it
            deadline = time.monotonic() + 30
            while not any("cannot read the bounce mailbox" in r.getMessage() for r in caplog.records):
                assert time.monotonic() < deadline, "no warning about the missing mailbox"
                time.sleep(0.1)
            assert daemon.scheduler.running
        finally:
            daemon.shutdown()


CORPUS = Path(__file__).parent / "data" / "notifications" / "written"


def from_corpus(name: str, sent: dict[str, str], rcpt: str, list_name: str) -> bytes:
    """A written sample, about the message sent to ``rcpt``: its VERP token, Message-ID and List-Id."""
    token = sent["return_path"].split("+", 1)[1].split("@", 1)[0]
    digest = sent["message_id"].strip("<>").split(".", 1)[1].split("@", 1)[0]
    raw = (CORPUS / name).read_bytes()
    for old, new in ((b"{TOKEN}", token), (b"{DIGEST}", digest), (b"{RCPT}", rcpt)):
        raw = raw.replace(old, new.encode())
    raw = raw.replace(b"@news.example.org>", f"@{sent['message_id'].rsplit('@', 1)[1]}".encode())
    return raw.replace(b"nato-weekly.news.example.org", list_name.encode())


def test_the_bounce_mailbox_over_imap_with_tls(example: Path, imap) -> None:  # noqa: F811
    with_bounces(example)
    text = example.read_text().replace('mailbox = "maildir"\nmaildir = "bounces"\n', "")
    example.write_text(
        text + f'mailbox = "imap"\nhost = "127.0.0.1"\nport = {imap.port_tls}\nsecurity = "tls"\n'
        f'username = "{imap.user}"\ntls_ca_file = "{imap.ca_file}"\n'
    )
    assert cli(example, "send", "--as-of", AS_OF).returncode == 0
    sent, name = sent_to(example), list_id(load_settings(example))
    arrived = [
        from_corpus(
            "office365-5.1.10-recipient-not-found.eml", sent["ada@example.org"], "ada@example.org", name
        ),
        from_corpus("arf-yahoo.eml", sent["grace@example.org"], "grace@example.org", name),
        from_corpus("autoreply-gmail-vacation.eml", sent["linus@example.org"], "linus@example.org", name),
        # Spam dressed as a delivery failure, sent to Margaret's return path: it quotes nothing.
        from_corpus(
            "unrelated-spam-fake-delivery-failure.eml",
            sent["margaret@example.org"],
            "margaret@example.org",
            name,
        ),
        (CORPUS / "unrelated-person-question.eml").read_bytes(),
        (CORPUS / "unrelated-bounce-of-other-mail.eml").read_bytes(),
    ]
    for raw in arrived:
        imap.append("INBOX", raw)
    # Without the password variable: one line saying which.
    missing = cli(example, "bounces")
    assert missing.returncode == 1 and "$NEWSLETTER_BOUNCES_PASSWORD is empty" in " ".join(
        missing.stderr.split()
    )
    read = run_cli(
        "--config",
        str(example),
        "bounces",
        env={"NEWSLETTER_SECRET": SECRET, "NEWSLETTER_BOUNCES_PASSWORD": imap.password},
    )
    assert read.returncode == 0, read.stderr
    assert "moved 3 to 'Processed'; left 3 where they were" in " ".join(read.stdout.split())
    now = statuses(example)
    assert now["ada@example.org"][0] == SubscriberStatus.BOUNCED and "5.1.10" in now["ada@example.org"][1]
    assert now["grace@example.org"][0] == SubscriberStatus.UNSUBSCRIBED
    assert now["linus@example.org"][0] == now["margaret@example.org"][0] == SubscriberStatus.ACTIVE
    # What was not ours is still in the inbox, unread; what was is in Processed, not deleted.
    assert len(imap.messages("INBOX")) == 3
    assert imap.flags("INBOX") == [set(), set(), set()]
    assert len(imap.messages("Processed")) == 3
    # A wrong password: one line, nothing changed.
    wrong = run_cli(
        "--config",
        str(example),
        "bounces",
        env={"NEWSLETTER_SECRET": SECRET, "NEWSLETTER_BOUNCES_PASSWORD": "nope"},
    )
    assert wrong.returncode == 1 and f"refused the login of {imap.user}" in " ".join(wrong.stderr.split())


@pytest.mark.sqlite_only
def test_a_bounce_recorded_after_a_backup_survives_its_restore(example: Path) -> None:
    folder = with_bounces(example)
    assert cli(example, "send", "--as-of", AS_OF).returncode == 0
    copy = Path(cli(example, "backup").stdout.split("backed up to", 1)[1].strip())
    sent = sent_to(example)
    drop(
        folder,
        postfix_dsn(
            "ada@example.org",
            sent["ada@example.org"],
            list_id(load_settings(example)),
            "5.1.1",
            "550 unknown",
            1,
        ),
    )
    assert "bounced: ada@example.org" in cli(example, "bounces").stdout
    for path in example.parent.glob("newsletter.db*"):
        path.unlink()
    shutil.copy(copy, example.parent / "newsletter.db")  # the backup, from before the bounce
    clear_outbox(example)
    feed = example.parent / "feed.xml"
    feed.write_text(feed.read_text().replace("<item>", NEXT_WEEK_STORY + "<item>", 1))
    assert cli(example, "send", "--as-of", NEXT).returncode == 0
    assert "ada@example.org" not in sent_to(example) and len(sent_to(example)) == 3
