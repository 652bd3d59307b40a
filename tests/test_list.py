"""The list is one truth: the CSV, `subscribers import`, `subscribers add` and the signup form all add to it and none
removes what another added (unless the operator chose mirror mode); one person's data can be shown
and erased, and an erased address never comes back."""

from __future__ import annotations

import re
import time
from email import message_from_bytes, policy
from pathlib import Path

import httpx
import pytest
from conftest import free_port, run_cli
from test_web import SECRET, serving

from newsletter import store
from newsletter.compose import list_id
from newsletter.config import load_settings
from newsletter.signup import form_stamp

AS_OF, NEXT = "2023-11-17", "2023-11-24"
NEXT_WEEK_STORY = (
    "<item><title>A story of the next week</title><link>https://www.nato.int/next-week.htm</link>"
    "<description>Something happened.</description><pubDate>Mon, 20 Nov 2023 10:00:00 GMT</pubDate></item>"
)


def recipients(example: Path) -> list[str]:
    outbox = example.parent / "outbox" / "new"
    return sorted(str(message_from_bytes(p.read_bytes())["To"]) for p in outbox.iterdir())


def clear_outbox(example: Path) -> None:
    for p in (example.parent / "outbox" / "new").iterdir():
        p.unlink()


def cli(example: Path, *args: str):  # type: ignore[no-untyped-def]
    return run_cli("--config", str(example), *args)


def test_csv_import_add_and_form_subscribers_all_get_the_next_issue(
    example: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A signup through serve's form, confirmed by the emailed link.
    monkeypatch.setenv("NEWSLETTER_SECRET", SECRET)
    port = free_port()
    example.write_text(example.read_text().replace("http://127.0.0.1:8025", f"http://127.0.0.1:{port}"))
    settings = load_settings(example)
    with serving(example, port) as base:
        stamp = form_stamp(SECRET, list_id(settings), time.time() - 10)
        form = {"email": "grace.hopper@example.org", "name": "Grace H.", "stamp": stamp}
        assert httpx.post(f"{base}/subscribe", data=form, timeout=30).status_code == 200
        deadline = time.monotonic() + 30
        while not (example.parent / "outbox" / "new").exists() or not recipients(example):
            assert time.monotonic() < deadline, "no confirmation email"
            time.sleep(0.05)
        (mail,) = (example.parent / "outbox" / "new").iterdir()
        body = message_from_bytes(mail.read_bytes(), policy=policy.default).get_body(("plain",))
        link = re.search(r"http://\S+/confirm/\S+", body.get_content())  # type: ignore[union-attr]
        assert link
        assert httpx.post(link[0], timeout=30).status_code == 200
    clear_outbox(example)
    more = tmp_path / "more.csv"
    more.write_text("email,name\nbarbara@example.org,Barbara Liskov\nedsger@example.org,Edsger Dijkstra\n")
    imported = cli(example, "subscribers", "import", str(more))
    assert imported.returncode == 0 and "2 added" in imported.stdout, imported.stdout + imported.stderr
    added = cli(example, "subscribers", "add", "alan@example.org", "--name", "Alan Turing")
    assert added.returncode == 0, added.stderr
    sent = cli(example, "send", "--as-of", AS_OF)
    assert sent.returncode == 0, sent.stdout + sent.stderr
    got = recipients(example)
    assert len(got) == 8  # the CSV's four, two imported, one added, one signed up
    assert all(any(who in r for r in got) for who in ("barbara@", "alan@", "grace.hopper@", "ada@"))
    listed = cli(example, "subscribers", "list", "--status", "removed")
    assert "barbara" not in listed.stdout and "alan" not in listed.stdout
    engine = store.open_engine(load_settings(example).database_url)
    sources = {s.email: s.source for s in store.subscribers.iterate(engine)}
    engine.dispose()
    assert sources["barbara@example.org"] == "import" and sources["alan@example.org"] == "add"
    assert sources["ada@example.org"] == "csv" and sources["grace.hopper@example.org"] == "form"


def test_a_row_deleted_from_the_csv_stops_mail_only_in_mirror_mode(example: Path) -> None:
    csv = example.parent / "subscribers.csv"
    cli(example, "send", "--as-of", AS_OF)
    clear_outbox(example)
    csv.write_text("\n".join(line for line in csv.read_text().splitlines() if "linus@" not in line) + "\n")
    feed = example.parent / "feed.xml"
    feed.write_text(feed.read_text().replace("<item>", NEXT_WEEK_STORY + "<item>", 1))
    sent = cli(example, "send", "--as-of", NEXT)
    assert sent.returncode == 0, sent.stdout + sent.stderr
    assert any("linus@" in r for r in recipients(example))  # not mirrored: still on the list

    example.write_text(example.read_text().replace("[subscribers]\n", "[subscribers]\nmirror = true\n"))
    refused = cli(example, "subscribers", "add", "alan@example.org")
    assert refused.returncode == 1
    assert "mirror = true" in refused.stderr and "subscribers.csv" in refused.stderr
    feed.write_text(feed.read_text().replace("next-week.htm", "next-week.htm?") + "")
    clear_outbox(example)
    week_after = cli(example, "send", "--as-of", "2023-12-01")
    assert week_after.returncode == 0
    engine = store.open_engine(load_settings(example).database_url)
    linus = store.subscribers.get(engine, "linus@example.org")
    engine.dispose()
    assert linus is not None and linus.status == "removed"


def test_the_first_releases_sync_key_is_ignored_with_a_warning(example: Path, tmp_path: Path) -> None:
    example.write_text(example.read_text().replace("[subscribers]\n", "[subscribers]\nsync = true\n"))
    more = tmp_path / "more.csv"
    more.write_text("email\nbarbara@example.org\n")
    cli(example, "subscribers", "import", str(more))
    sent = cli(example, "send", "--as-of", AS_OF)
    assert sent.returncode == 0, sent.stderr
    assert "[subscribers] sync is no longer used" in sent.stderr
    assert any("barbara@" in r for r in recipients(example))


def test_forget_erases_a_person_and_keeps_them_off_the_list(example: Path, tmp_path: Path) -> None:
    cli(example, "send", "--as-of", AS_OF)
    shown = cli(example, "subscribers", "show", "ada@example.org")
    assert shown.returncode == 0
    for fact in ("Ada Lovelace", "city=London", "active", "came in by: csv", "issue 2023-W46: sent"):
        assert fact in " ".join(shown.stdout.split()), shown.stdout
    forgotten = cli(example, "subscribers", "forget", "ada@example.org", "--yes")
    assert forgotten.returncode == 0 and "erased ada@example.org" in forgotten.stdout
    engine = store.open_engine(load_settings(example).database_url)
    assert store.subscribers.get(engine, "ada@example.org") is None
    assert all(
        d["period_key"] != "2023-W46" for d in store.subscribers.deliveries_of(engine, "ada@example.org")
    )
    # The CSV still lists her, and an import and an add try again: she stays out.
    more = tmp_path / "more.csv"
    more.write_text("email,name\nAda@Example.org,Ada L.\n")
    cli(example, "subscribers", "import", str(more))
    again = cli(example, "subscribers", "add", "ada@example.org")
    assert again.returncode == 1 and "erased at their request" in again.stderr
    cli(example, "send", "--as-of", NEXT)
    assert store.subscribers.get(engine, "ada@example.org") is None
    engine.dispose()
    assert "erased on request" in cli(example, "subscribers", "show", "ada@example.org").stdout
