"""The schedule in words, its fire times across a DST change, and single runs of the daemon in-process."""

from __future__ import annotations

import logging
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import free_port, run_cli
from sqlalchemy import select

from newsletter import store
from newsletter.collect import period_for
from newsletter.config import load_settings
from newsletter.errors import ConfigError
from newsletter.schedule import Daemon, parse_when, previous_fire
from newsletter.store import schema

BRUSSELS = ZoneInfo("Europe/Brussels")


def fire_times(when: str, start: datetime, count: int) -> list[datetime]:
    trigger = parse_when(when, BRUSSELS)
    out: list[datetime] = []
    fire = trigger.get_next_fire_time(None, start)
    while fire is not None and len(out) < count:
        out.append(fire)
        fire = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
    return out


@pytest.mark.sqlite_only
def test_day_names_mean_what_they_say() -> None:
    # crontab's 5 is Friday but APScheduler's day_of_week 5 is Saturday; names avoid the trap.
    start = datetime(2023, 11, 13, tzinfo=BRUSSELS)  # a Monday
    assert [f.strftime("%a %H:%M") for f in fire_times("fri 09:00", start, 2)] == ["Fri 09:00", "Fri 09:00"]
    assert [f.strftime("%a %H:%M") for f in fire_times("mon,thu 07:30", start, 3)] == [
        "Mon 07:30",
        "Thu 07:30",
        "Mon 07:30",
    ]
    assert {f.strftime("%a") for f in fire_times("mon-fri 8:15", start, 5)} == {
        "Mon",
        "Tue",
        "Wed",
        "Thu",
        "Fri",
    }
    assert fire_times("Friday 17:45", start, 1)[0] == datetime(2023, 11, 17, 17, 45, tzinfo=BRUSSELS)


@pytest.mark.sqlite_only
def test_a_week_across_the_dst_change_fires_at_the_local_time() -> None:
    # Europe/Brussels leaves summer time on Sunday 2023-10-29 (03:00 CEST -> 02:00 CET).
    fires = fire_times("fri 09:00", datetime(2023, 10, 21, tzinfo=BRUSSELS), 3)
    assert [f.date().isoformat() for f in fires] == ["2023-10-27", "2023-11-03", "2023-11-10"]
    assert all((f.hour, f.minute) == (9, 0) for f in fires)
    assert [f.utcoffset() for f in fires] == [timedelta(hours=2), timedelta(hours=1), timedelta(hours=1)]
    # the week is an hour longer in real time; the local time stays
    assert fires[1].astimezone(UTC) - fires[0].astimezone(UTC) == timedelta(days=7, hours=1)
    sunday = fire_times("sun 09:00", datetime(2023, 10, 28, 12, tzinfo=BRUSSELS), 1)[0]
    assert sunday.isoformat() == "2023-10-29T09:00:00+01:00"
    # and back into summer time in spring
    spring = fire_times("sun 09:00", datetime(2024, 3, 30, tzinfo=BRUSSELS), 2)
    assert [f.isoformat() for f in spring] == ["2024-03-31T09:00:00+02:00", "2024-04-07T09:00:00+02:00"]


@pytest.mark.sqlite_only
def test_a_local_time_the_clock_shows_twice_fires_once() -> None:
    # 2023-10-29 Europe/Brussels: 02:30 happens at 00:30 UTC (CEST) and again at 01:30 UTC (CET).
    fires = fire_times("sun 02:30", datetime(2023, 10, 28, tzinfo=BRUSSELS), 2)
    assert [f.astimezone(UTC).isoformat() for f in fires] == [
        "2023-10-29T00:30:00+00:00",
        "2023-11-05T01:30:00+00:00",
    ]
    # 2024-03-31: 02:30 does not exist; it fires once, at 03:30 summer time
    spring = fire_times("sun 02:30", datetime(2024, 3, 30, tzinfo=BRUSSELS), 2)
    assert [f.astimezone(UTC).isoformat() for f in spring] == [
        "2024-03-31T01:30:00+00:00",
        "2024-04-07T00:30:00+00:00",
    ]


@pytest.mark.sqlite_only
def test_previous_fire_is_the_latest_due_time() -> None:
    trigger = parse_when("fri 09:00", BRUSSELS)
    assert previous_fire(trigger, datetime(2023, 11, 3, 10, tzinfo=BRUSSELS)) == datetime(
        2023, 11, 3, 9, tzinfo=BRUSSELS
    )
    assert previous_fire(trigger, datetime(2023, 11, 3, 8, tzinfo=BRUSSELS)) == datetime(
        2023, 10, 27, 9, tzinfo=BRUSSELS
    )


@pytest.mark.sqlite_only
@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("friday", "day name(s) and a 24-hour time"),
        ("fri 25:00", "not a time of day"),
        ("fri 9am", "day name(s) and a 24-hour time"),
        ("5 09:00", "day numbers are ambiguous"),
        ("fry 09:00", "'fry' is not a day name"),
        ("sat-mon 10:00", "not a day range"),
        ("", "day name(s)"),
    ],
)
def test_bad_schedules_name_the_key(text: str, says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_when(text, BRUSSELS)
    assert "[schedule] when" in caught.value.message and says in caught.value.message
    assert caught.value.hint and "fri 09:00" in caught.value.hint


def test_schedule_command_rejects_a_bad_when(example: Path) -> None:
    example.write_text(example.read_text() + '\n[schedule]\nwhen = "every friday"\n')
    result = run_cli("--config", str(example), "schedule")
    assert result.returncode == 1
    assert "[schedule] when = 'every friday'" in result.stderr and "hint:" in result.stderr


def test_status_before_any_daemon_says_so(example: Path) -> None:
    result = run_cli("--config", str(example), "status")
    assert result.returncode == 0, result.stderr
    assert "next scheduled run: none" in result.stdout


def _runs(settings_path: Path) -> list[dict]:
    engine = store.open_engine(load_settings(settings_path).database_url)
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(schema.runs).order_by(schema.runs.c.id))]


def test_nothing_new_is_skipped_with_a_log_line(example: Path, caplog: pytest.LogCaptureFixture) -> None:
    # The example's feeds hold November 2023 only: this week has nothing new.
    settings = load_settings(example)
    daemon = Daemon(settings, store.open_engine(settings.database_url))
    with caplog.at_level(logging.INFO, logger="newsletter.schedule"):
        daemon.run()
    assert any("skipped: nothing new since" in r.getMessage() for r in caplog.records)
    (run,) = _runs(example)
    assert (run["trigger"], run["outcome"]) == ("schedule", "nothing-new")
    assert run["message"].startswith("skipped: nothing new since")


def test_smtp_down_logs_the_failure_and_plans_a_retry(
    example: Path, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    # Items of this week, so there is an issue to send; the mail server is down, so no alert can go either.
    this_week_over_smtp(example, tmp_path, free_port(), 'readiness = "off"')
    example.write_text(
        example.read_text().replace(
            'postal_address = "', 'admin = "admin@example.org"\npostal_address = "', 1
        )
    )
    settings = load_settings(example)
    daemon = Daemon(settings, store.open_engine(settings.database_url))
    with caplog.at_level(logging.INFO, logger="newsletter.schedule"):
        daemon.run()
    messages = [r.getMessage() for r in caplog.records]
    assert any("send failed: cannot connect to the SMTP server" in m and "retrying at" in m for m in messages)
    assert any(m.startswith("cannot send the alert to admin@example.org") for m in messages)
    (run,) = _runs(example)
    assert run["outcome"] == "failed" and "cannot connect" in run["message"]
    retry = [j for j in daemon.scheduler.get_jobs() if j.id.startswith("newsletter-followup-")]
    assert len(retry) == 1 and retry[0].kwargs["attempt"] == 1


def this_week_over_smtp(example: Path, tmp_path: Path, port: int, delivery: str = "") -> None:
    """The example reading a feed of this week's items, sending over SMTP to ``port``."""
    feed = tmp_path / "now.xml"
    feed.write_text(current_feed(3), encoding="utf-8")
    text = example.read_text().replace('path = "feed.xml"', f'path = "{feed}"')
    smtp = f'transport = "smtp"\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\n{delivery}'
    example.write_text(text.replace('transport = "maildir"', smtp))


def current_feed(count: int, *, title: str = "This week") -> str:
    """An RSS feed whose items were published in the last hours, so "the current week" holds them."""
    from email.utils import format_datetime

    now = datetime.now(UTC)
    items = "".join(
        f"<item><title>{title}: story {i}</title><link>https://example.org/news/{i}</link>"
        f"<description>What happened, part {i}.</description>"
        f"<pubDate>{format_datetime(now - timedelta(minutes=10 * (i + 1)))}</pubDate></item>"
        for i in range(count)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Now</title>'
        f"<link>https://example.org/</link><description>Current news</description>{items}</channel></rss>"
    )


def test_retries_double_and_the_admin_hears_once_through_the_configured_transport(
    example: Path, tmp_path: Path
) -> None:
    import mailbox

    text = example.read_text().replace('path = "feed.xml"', f'path = "{tmp_path / "gone.xml"}"')
    text = text.replace('path = "videos.xml"', f'path = "{tmp_path / "gone2.xml"}"')
    text = text.replace('path = "features.xml"', f'path = "{tmp_path / "gone3.xml"}"')
    text = text.replace('postal_address = "', 'admin = "admin@example.org"\npostal_address = "', 1)
    example.write_text(text + "\n[schedule]\nretry_minutes = 10\n")
    settings = load_settings(example)
    daemon = Daemon(settings, store.open_engine(settings.database_url))
    key = period_for(datetime.now(BRUSSELS), settings.zone).key
    if period_for(datetime.now(BRUSSELS) + timedelta(minutes=75), settings.zone).key != key:
        pytest.skip("the week ends within the retries' 70 minutes")
    delays = []
    for attempt in range(3):
        before = datetime.now(UTC)
        daemon.run(period_key=key, attempt=attempt, reason="retry")
        (job,) = daemon.scheduler.get_jobs()
        delays.append(round((job.trigger.run_date - before).total_seconds() / 60))
        assert job.kwargs == {"period_key": key, "attempt": attempt + 1, "reason": "retry"}
        daemon.scheduler.remove_job(job.id)  # as a running scheduler does when a one-off job starts
    assert delays == [10, 20, 40]
    assert [o["outcome"] for o in _runs(example)] == ["failed"] * 3
    alerts = list(mailbox.Maildir(example.parent / "outbox", create=False))
    assert len(alerts) == 1  # the first failure, not every retry
    assert alerts[0]["To"] == "admin@example.org" and "every source failed" in alerts[0].get_payload()


@pytest.mark.sqlite_only
def test_a_sent_issue_leaves_a_backup_and_only_the_last_few_are_kept(example: Path, tmp_path: Path) -> None:
    feed = tmp_path / "now.xml"
    feed.write_text(current_feed(3), encoding="utf-8")
    example.write_text(
        example.read_text().replace('path = "feed.xml"', f'path = "{feed}"')
        + "\n[schedule]\nkeep_backups = 2\n"
    )
    backups = example.parent / "backups"
    backups.mkdir()
    for n in range(3):  # copies an earlier daemon left
        (backups / f"newsletter-2023010{n}-090000.db").write_bytes(b"")
    settings = load_settings(example)
    engine = store.open_engine(settings.database_url)
    Daemon(settings, engine).run()
    (run,) = _runs(example)
    assert run["outcome"] == "sent", run["message"]
    kept = sorted(p.name for p in backups.iterdir())
    assert len(kept) == 2 and kept[0] == "newsletter-20230102-090000.db"
    copy = sqlite3.connect(backups / kept[1])
    assert copy.execute("SELECT count(*) FROM deliveries WHERE state = 'sent'").fetchone()[0] == 4
    copy.close()


def test_the_daemon_refuses_a_real_send_that_is_not_ready(
    example: Path, caplog: pytest.LogCaptureFixture, tmp_path: Path, smtp_server
) -> None:
    # The example over SMTP as `init` leaves it: a placeholder From, loopback links, no secret.
    this_week_over_smtp(example, tmp_path, smtp_server.port)
    settings = load_settings(example)
    daemon = Daemon(settings, store.open_engine(settings.database_url))
    with caplog.at_level(logging.INFO, logger="newsletter.schedule"):
        daemon.run()
    (run,) = _runs(example)
    assert run["outcome"] == "failed" and run["message"].startswith("not sending: from:"), run
    assert "base url:" in run["message"] and "secret:" in run["message"]
    assert smtp_server.received == []  # not even the alert: the admin is unset here
