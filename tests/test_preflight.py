"""The editor in the loop: the preflight email, its one-time links, holds, releases and approval, with
real daemons (`newsletter schedule` reading a test clock), a real `newsletter serve` for the links and
an SMTP server on 127.0.0.1 receiving everything."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from conftest import SmtpServer, free_port, run_cli
from test_schedule_daemon import (
    Due,
    daemons,  # noqa: F401 (the fixture)
    due_ahead,
    fire,
    make_project,
    readers,
    schedule_runs,
    set_clock,
    status,
    wait_until,
)
from test_web import SECRET, serving

EDITOR = "editor@example.org"


@pytest.fixture(autouse=True)
def secret(monkeypatch: pytest.MonkeyPatch) -> None:
    """The daemon and `serve` sign and check the links with the same secret."""
    monkeypatch.setenv("NEWSLETTER_SECRET", SECRET)


def started(daemons, config: Path, smtp: SmtpServer):  # noqa: F811 (the fixture's function)
    """A daemon for ``config``, once its preflight (due at once: the send is less than 2 h away) came."""
    daemon = daemons(config)
    daemon.wait_for("next run:")
    wait_until(lambda: len(to_editor(smtp)) == 1, 30, f"the preflight email: {daemon.output}")
    return daemon


def project(tmp_path: Path, smtp: SmtpServer, due: Due, *, extra: str = "", port: int = 0) -> Path:
    config = make_project(
        tmp_path / "p",
        smtp,
        when=due.when,
        extra=f'preflight = "2h"\neditors = ["{EDITOR}"]\n{extra}',
    )
    config.write_text(config.read_text() + f'\n[web]\nbase_url = "http://127.0.0.1:{port or 8025}"\n')
    return config


def to_readers(smtp: SmtpServer) -> list[str]:
    """Who of the list got the issue (not the editor, not the admin)."""
    return sorted(r.recipients[0] for r in smtp.received if r.recipients[0].startswith("reader"))


def to_editor(smtp: SmtpServer) -> list:
    return [r.message for r in smtp.received if r.recipients == [EDITOR]]


def links(message) -> dict[str, str]:
    """The preflight's links, by what they say, from its plain-text part."""
    text = message.get_body(("plain",)).get_content()
    return {
        label: url for label, url in re.findall(r"^(Hold this issue|Send now): (\S+)", text, re.MULTILINE)
    }


def preflight_state(config: Path) -> str:
    from newsletter import store
    from newsletter.config import load_settings

    engine = store.open_engine(load_settings(config).database_url)
    try:
        rows = store.preflights.recent(engine, 1)
        return rows[0].state if rows else "none"
    finally:
        engine.dispose()


def test_the_preflight_arrives_a_hold_stops_the_send_and_a_release_sends_it_once(
    tmp_path: Path,
    smtp_server: SmtpServer,
    daemons,  # noqa: F811 (the fixture imported above)
) -> None:
    due = due_ahead()
    port = free_port()
    config = project(tmp_path, smtp_server, due, port=port)
    daemon = started(daemons, config, smtp_server)
    (mail,) = to_editor(smtp_server)
    assert mail["Subject"].startswith("[Preflight] ")
    html = mail.get_body(("html",)).get_content()
    assert "This issue goes out" in html and "4 subscriber(s)" in html and "3 stories" in html
    assert "Hold this issue" in html and "Send now" in html
    assert "This week: story 1" in html  # the issue itself, as subscribers will see it
    found = links(mail)
    assert set(found) == {"Hold this issue", "Send now"}

    with serving(config, port):
        # A mail scanner (or a person) opening the link changes nothing: it shows a button.
        page = httpx.get(found["Hold this issue"], timeout=10)
        assert page.status_code == 200 and '<form method="post"' in page.text
        assert preflight_state(config) == "pending"
        held = httpx.post(found["Hold this issue"], timeout=10)
        assert held.status_code == 200 and "is held" in held.text, held.text
        assert preflight_state(config) == "held"
        again = httpx.post(found["Hold this issue"], timeout=10)  # a link works once
        assert again.status_code == 409 and "Nothing changed" in again.text
        stale = httpx.post(found["Send now"], timeout=10)  # made before the hold: stale now
        assert stale.status_code == 409
        wait_until(lambda: len(to_editor(smtp_server)) == 2, 30, "the email with the release link")
        second = to_editor(smtp_server)[1]
        assert "is held" in second["Subject"]
        (release,) = re.findall(r"http://127\.0\.0\.1:\d+/preflight/\S+", second.get_content())
        assert "HELD" in status(config)

        fire(config, due)  # its time comes: held, nothing goes out
        wait_until(lambda: [o for o, _ in schedule_runs(config)] == ["held"], 30, "the held run")
        assert to_readers(smtp_server) == []

        assert httpx.get(release, timeout=10).status_code == 200  # a GET again changes nothing
        assert preflight_state(config) == "held"
        released = httpx.post(release, timeout=10)
        # (`serve` reads the real clock, to which the due time is still ahead; the daemon's has passed it)
        assert released.status_code == 200 and "is released" in released.text
    wait_until(lambda: len(to_readers(smtp_server)) == 4, 30, f"the released issue: {daemon.output}")
    wait_until(lambda: schedule_runs(config)[-1][0] == "sent", 10, "the release's run recorded")
    assert daemon.stop() == 0
    assert to_readers(smtp_server) == readers(4)  # once each
    assert [o for o, _ in schedule_runs(config)] == ["held", "sent"]
    assert "released by an editor (link): sending it now" in daemon.output


def test_approval_mode_without_an_approval_skips_the_week_and_tells_the_editors(
    tmp_path: Path,
    smtp_server: SmtpServer,
    daemons,  # noqa: F811 (the fixture imported above)
) -> None:
    due = due_ahead()
    config = project(tmp_path, smtp_server, due, extra="approval = true\ngrace_hours = 0.5")
    daemon = started(daemons, config, smtp_server)
    assert (
        "Nothing goes out until you approve it" in to_editor(smtp_server)[0].get_body(("html",)).get_content()
    )

    fire(config, due)
    wait_until(lambda: [o for o, _ in schedule_runs(config)] == ["held"], 30, "the run awaiting approval")
    wait_until(lambda: len(to_editor(smtp_server)) == 2, 30, "the reminder")
    reminder = to_editor(smtp_server)[1]
    assert "awaits approval" in reminder["Subject"] and "/preflight/" in reminder.get_content()
    assert "awaiting approval" in status(config)

    set_clock(config, due.at + timedelta(minutes=30, seconds=1))  # the grace runs out, nobody approved
    wait_until(lambda: [o for o, _ in schedule_runs(config)] == ["held", "skipped"], 30, "the skip")
    wait_until(lambda: len(to_editor(smtp_server)) == 3, 30, "the editors told")
    assert "skipped" in to_editor(smtp_server)[2]["Subject"]
    assert daemon.stop() == 0
    assert to_readers(smtp_server) == []
    assert preflight_state(config) == "skipped"
    late = run_cli("--config", str(config), "release")  # too late now: said plainly
    assert late.returncode == 1 and "no issue awaits the editors" in late.stderr


def test_send_now_approves_and_sends_at_once_and_the_due_run_sends_nothing_more(
    tmp_path: Path,
    smtp_server: SmtpServer,
    daemons,  # noqa: F811 (the fixture imported above)
) -> None:
    due = due_ahead()
    port = free_port()
    config = project(tmp_path, smtp_server, due, extra="approval = true", port=port)
    daemon = started(daemons, config, smtp_server)
    with serving(config, port):
        sent = httpx.post(links(to_editor(smtp_server)[0])["Send now"], timeout=10)
        assert sent.status_code == 200 and "goes out within a minute" in sent.text
    wait_until(lambda: len(to_readers(smtp_server)) == 4, 30, "the approved issue, before its time")
    wait_until(lambda: [o for o, _ in schedule_runs(config)] == ["sent"], 10, "the run recorded")
    fire(config, due)
    wait_until(lambda: len(schedule_runs(config)) == 2, 30, "the due run")
    assert daemon.stop() == 0
    assert [o for o, _ in schedule_runs(config)] == ["sent", "already-sent"]
    assert to_readers(smtp_server) == readers(4)


def test_hold_and_release_from_the_command_line(
    tmp_path: Path,
    smtp_server: SmtpServer,
    daemons,  # noqa: F811 (the fixture imported above)
) -> None:
    due = due_ahead()
    config = project(tmp_path, smtp_server, due)
    nothing = run_cli("--config", str(config), "hold")
    assert nothing.returncode == 1 and "no issue awaits the editors" in nothing.stderr
    daemon = started(daemons, config, smtp_server)
    held = run_cli("--config", str(config), "hold")
    assert held.returncode == 0 and "is held" in held.stdout, held.stderr
    twice = run_cli("--config", str(config), "hold")
    assert twice.returncode == 1 and "held already" in twice.stderr
    released = run_cli("--config", str(config), "release")
    assert released.returncode == 0 and "goes out at" in released.stdout, released.stderr
    fire(config, due)  # released before its time: it goes at its time
    wait_until(lambda: len(to_readers(smtp_server)) == 4, 30, "the issue at its time")
    wait_until(lambda: [o for o, _ in schedule_runs(config)] == ["sent"], 10, "the run recorded")
    assert daemon.stop() == 0
    assert to_readers(smtp_server) == readers(4)


def test_a_preflight_the_server_refuses_is_tried_again_after_retry_minutes_not_at_every_look(
    tmp_path: Path,
    smtp_server: SmtpServer,
    daemons,  # noqa: F811 (the fixture imported above)
) -> None:
    refused: list[str] = []

    def twice_451(envelope) -> str | None:
        if envelope.rcpt_tos == [EDITOR] and len(refused) < 2:
            refused.append(EDITOR)
            return "451 4.3.0 try again later"
        return None

    smtp_server.handler.answer = twice_451
    due = due_ahead()
    config = project(tmp_path, smtp_server, due, extra="retry_minutes = 0.05")  # 3 s
    daemon = daemons(config)
    wait_until(lambda: len(to_editor(smtp_server)) == 1, 30, f"the preflight at last: {daemon.output}")
    assert daemon.stop() == 0
    assert len(refused) == 2  # two refusals, then the third attempt went: no retry at every 2 s look
    assert daemon.output.count("cannot email the preflight") == 2
    assert "trying again at" in daemon.output


def test_a_week_that_will_roll_over_says_so_instead_of_showing_the_issue(
    tmp_path: Path, smtp_server: SmtpServer
) -> None:
    from datetime import datetime

    from newsletter import preflight, store
    from newsletter.config import load_settings

    due = due_ahead()
    config = project(tmp_path, smtp_server, due)
    config.write_text(config.read_text() + "\n[issue]\nmin_items = 5\n")  # the feed has 3
    settings = load_settings(config)
    engine = store.open_engine(settings.database_url)
    try:
        line = preflight.mail(settings, engine, due.at, datetime.now(due.at.tzinfo))
    finally:
        engine.dispose()
    assert line.startswith("preflight of issue ") and line.endswith(f"emailed to {EDITOR}")
    (mail,) = to_editor(smtp_server)
    assert "nothing to send" in mail["Subject"]
    body = mail.get_content()
    assert "Only 3 new stories were collected ([issue] min_items = 5)" in body and "wait for the next" in body
    assert to_readers(smtp_server) == []
