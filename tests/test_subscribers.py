"""The subscriber list: CSV formats people bring, validation with line numbers, sync, suppression, export."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from conftest import run_cli

from newsletter import store
from newsletter.config import parse_settings
from newsletter.errors import SubscriberError
from newsletter.subscribers import (
    add_subscriber,
    export_csv,
    parse_csv,
    read_csv,
    resubscribe_token,
    safe_cell,
    sync,
    unsubscribe_token,
    verify_resubscribe_token,
    verify_unsubscribe_token,
)


@pytest.fixture
def engine(tmp_path: Path):
    """The store of a newsletter whose database is list.db: that file, or $NEWSLETTER_DATABASE when set."""
    settings = parse_settings({"newsletter": {"database": "list.db"}}, tmp_path / "newsletter.toml")
    engine = store.open_engine(settings.database_url)
    yield engine
    engine.dispose()


def statuses(engine) -> dict[str, tuple[str, str]]:
    return {r.email: (r.status, r.cause) for r in store.subscribers.iterate(engine)}


@pytest.mark.sqlite_only
def test_bad_rows_are_reported_by_line_and_good_rows_kept() -> None:
    text = (
        "email,name\n"
        "ada@example.org,Ada\n"
        "not-an-address,Nobody\n"
        ",Empty\n"
        "\n"
        '"grace@example.org","Grace ""Amazing"" Hopper"\n'
        "linus@example,Linus\n"
        '"margaret@example.org","Margaret\nHamilton"\n'
        "bad@@example.org,Two ats\n"
    )
    report = parse_csv(text, "list.csv")
    assert [s.email for s in report.subscribers] == [
        "ada@example.org",
        "grace@example.org",
        "margaret@example.org",
    ]
    assert report.subscribers[1].name == 'Grace "Amazing" Hopper'
    lines = [p.split(": ")[1] for p in report.problems]
    assert lines == ["line 3", "line 4", "line 7", "line 10"]  # the quoted name spans lines 8-9
    assert "list.csv: line 3: 'not-an-address': " in report.problems[0]
    assert "@-sign" in report.problems[0]
    assert "no email address" in report.problems[1]
    assert "should have a period" in report.problems[2]


@pytest.mark.sqlite_only
def test_duplicates_merge_case_insensitively_with_a_note() -> None:
    text = (
        "email,name,city\nAda@Example.org,Ada,\nada@example.ORG,,London\ngrace@example.org,Grace,Arlington\n"
    )
    report = parse_csv(text, "list.csv")
    assert [s.email for s in report.subscribers] == ["ada@example.org", "grace@example.org"]
    assert report.subscribers[0].name == "Ada" and report.subscribers[0].fields == {"city": "London"}
    assert report.notes == ["list.csv: line 3: ada@example.org repeats line 2; merged into it"]
    assert report.problems == []


@pytest.mark.sqlite_only
def test_bom_semicolons_and_header_case(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes(
        "\ufeffEMAIL;Name;City\nada@example.org;Ada Lovelace;London, UK\nlinus@example.org;Linus Åkesson;Lund\n".encode()
    )
    report = read_csv(path)
    assert report.problems == []
    assert [(s.email, s.name, s.fields) for s in report.subscribers] == [
        ("ada@example.org", "Ada Lovelace", {"city": "London, UK"}),
        ("linus@example.org", "Linus Åkesson", {"city": "Lund"}),
    ]


@pytest.mark.sqlite_only
def test_mailchimp_export() -> None:
    text = (
        '"Email Address","First Name","Last Name",MEMBER_RATING,OPTIN_TIME,LEID,TAGS,Company\n'
        'ada@example.org,Ada,Lovelace,2,"2023-01-01 10:00:00",123,"""vip""",Analytical Engines\n'
        "grace@example.org,Grace,,3,,124,,\n"
    )
    report = parse_csv(text, "mailchimp.csv")
    assert [(s.email, s.name, s.fields) for s in report.subscribers] == [
        (
            "ada@example.org",
            "Ada Lovelace",
            {"first name": "Ada", "last name": "Lovelace", "company": "Analytical Engines"},
        ),
        ("grace@example.org", "Grace", {"first name": "Grace"}),
    ]


def test_mailchimp_unsubscribed_export_is_suppressed(engine) -> None:
    text = '"Email Address","First Name",UNSUB_TIME,UNSUB_REASON\nada@example.org,Ada,"2023-05-01 10:00:00",NORMAL\n'
    report = parse_csv(text, "unsubscribed_members.csv")
    assert report.subscribers == [] and report.suppressed == {"ada@example.org": "unsubscribed"}
    sync(engine, report, remove_missing=False)
    assert statuses(engine)["ada@example.org"] == ("unsubscribed", "marked unsubscribed in the imported CSV")
    # an ordinary list that still has her does not bring her back
    counts = sync(engine, parse_csv("email\nada@example.org\n", "list.csv"), remove_missing=False)
    assert counts["suppressed"] == 1 and statuses(engine)["ada@example.org"][0] == "unsubscribed"


@pytest.mark.sqlite_only
def test_listmonk_export_with_attributes_json() -> None:
    attributes = json.dumps({"city": "London", "age": 36, "vip": True, "langs": ["en", "fr"], "none": None})
    rows = [
        ["uuid", "email", "name", "attributes", "status", "created_at", "updated_at"],
        ["5e1c", "ada@example.org", "Ada Lovelace", attributes, "enabled", "2023-01-01", "2023-01-02"],
        ["5e1d", "grace@example.org", "Grace Hopper", "{not json", "enabled", "", ""],
        ["5e1e", "linus@example.org", "Linus", "{}", "blocklisted", "", ""],
    ]
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    report = parse_csv(out.getvalue(), "listmonk.csv")
    assert [(s.email, s.name) for s in report.subscribers] == [
        ("ada@example.org", "Ada Lovelace"),
        ("grace@example.org", "Grace Hopper"),
    ]
    assert report.subscribers[0].fields == {
        "city": "London",
        "age": "36",
        "vip": "true",
        "langs": '["en", "fr"]',
    }
    assert report.subscribers[1].fields == {}
    assert report.notes == [
        "listmonk.csv: line 3: attributes are not valid JSON (Expecting property name enclosed in double quotes); ignored"
    ]
    assert report.suppressed == {"linus@example.org": "unsubscribed"}


@pytest.mark.sqlite_only
def test_no_email_column_names_the_line(tmp_path: Path) -> None:
    with pytest.raises(SubscriberError) as info:
        parse_csv("name,city\nAda,London\n", "list.csv")
    assert "list.csv: line 1: no email column" in info.value.message
    path = tmp_path / "latin1.csv"
    path.write_bytes(b"email,name\nada@example.org,Ada\nlinus@example.org,Linus \xc5kesson\n")
    with pytest.raises(SubscriberError) as info:
        read_csv(path)
    assert "line 3: not UTF-8" in info.value.message and "UTF-8" in (info.value.hint or "")


def test_sync_adds_updates_removes_and_never_reactivates_the_suppressed(engine) -> None:
    first = parse_csv(
        "email,name\nada@example.org,Ada\ngrace@example.org,Grace\nlinus@example.org,Linus\n", "a.csv"
    )
    assert sync(engine, first, remove_missing=True)["added"] == 3
    store.subscribers.unsubscribe(engine, "grace@example.org", "one-click unsubscribe")
    store.subscribers.set_status(engine, "linus@example.org", "bounced", "550 5.1.1 no such user")
    second = parse_csv(
        "email,name\nADA@example.org,Ada Lovelace\ngrace@example.org,Grace\nlinus@example.org,Linus\nmargaret@example.org,Margaret\n",
        "b.csv",
    )
    counts = sync(engine, second, remove_missing=True)
    assert counts == {"added": 1, "updated": 1, "suppressed": 2, "removed": 0, "reactivated": 0}
    now = statuses(engine)
    assert now["grace@example.org"] == ("unsubscribed", "one-click unsubscribe")
    assert now["linus@example.org"] == ("bounced", "550 5.1.1 no such user")
    assert store.subscribers.get(engine, "ada@example.org").name == "Ada Lovelace"
    third = parse_csv("email,name\nmargaret@example.org,Margaret\n", "c.csv")
    assert sync(engine, third, remove_missing=True)["removed"] == 1
    assert statuses(engine)["ada@example.org"] == ("removed", "not in the CSV")
    assert sync(engine, second, remove_missing=True)["reactivated"] == 1
    assert statuses(engine)["ada@example.org"] == ("active", "back in the CSV")
    assert statuses(engine)["grace@example.org"][0] == "unsubscribed"


def test_only_an_explicit_resubscribe_brings_an_address_back(engine) -> None:
    assert add_subscriber(engine, "Ada@Example.org", "Ada") == "added"
    store.subscribers.unsubscribe(engine, "ada@example.org", "one-click unsubscribe")
    with pytest.raises(SubscriberError) as info:
        add_subscriber(engine, "ada@example.org")
    assert "unsubscribed (one-click unsubscribe)" in info.value.message
    assert "--resubscribe" in (info.value.hint or "")
    assert add_subscriber(engine, "ada@example.org", resubscribe=True) == "reactivated"
    assert statuses(engine)["ada@example.org"] == ("active", "resubscribed by the operator")
    with pytest.raises(SubscriberError):
        add_subscriber(engine, "not an address")


def test_export_neutralises_formulas_and_reads_back(engine, tmp_path: Path) -> None:
    for value, expected in [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("Ada", "Ada"),
    ]:
        assert safe_cell(value) == expected
    text = (
        'email,name,city\nada@example.org,"=HYPERLINK(""http://evil"")",@London\n-dash@example.org,Dash,+1\n'
    )
    sync(engine, parse_csv(text, "in.csv"), remove_missing=False)
    out = io.StringIO()
    assert export_csv(engine, out) == 2
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows[0] == ["email", "name", "city", "status", "changed_at", "cause"]
    assert rows[1][:3] == ["ada@example.org", '\'=HYPERLINK("http://evil")', "'@London"]
    assert rows[2][:3] == ["'-dash@example.org", "Dash", "'+1"]
    for row in rows[1:]:
        assert not row[0].startswith(("=", "+", "-", "@", "\t", "\r"))
    back = parse_csv(out.getvalue(), "export.csv")
    assert back.problems == []
    assert [(s.email, s.name, s.fields) for s in back.subscribers] == [
        ("ada@example.org", '=HYPERLINK("http://evil")', {"city": "@London"}),
        ("-dash@example.org", "Dash", {"city": "+1"}),
    ]


@pytest.mark.sqlite_only
def test_tokens_are_bound_to_address_list_and_purpose() -> None:
    token = unsubscribe_token("s3cret", "news.example.org", "Ada@Example.org")
    assert verify_unsubscribe_token("s3cret", "news.example.org", token) == "ada@example.org"
    assert verify_unsubscribe_token("other", "news.example.org", token) is None
    assert verify_unsubscribe_token("s3cret", "other.example.org", token) is None
    assert verify_unsubscribe_token("s3cret", "news.example.org", token[:-1]) is None
    assert verify_unsubscribe_token("s3cret", "news.example.org", token[:16]) is None
    grace = unsubscribe_token("s3cret", "news.example.org", "grace@example.org")
    assert verify_unsubscribe_token("s3cret", "news.example.org", grace[:16] + token[16:]) is None
    assert verify_unsubscribe_token("s3cret", "news.example.org", "ü.ß") is None
    again = resubscribe_token("s3cret", "news.example.org", "ada@example.org")
    assert again != token
    assert verify_resubscribe_token("s3cret", "news.example.org", again) == "ada@example.org"
    assert verify_resubscribe_token("s3cret", "news.example.org", token) is None
    assert verify_unsubscribe_token("s3cret", "news.example.org", again) is None


# --- the commands ---------------------------------------------------------------------------


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "newsletter.toml"
    path.write_text('[newsletter]\nname = "Test"\ndatabase = "list.db"\n[subscribers]\ncsv = ""\n')
    return path


def cli(config: Path, *args: str):
    return run_cli("--config", str(config), "subscribers", *args)


def test_check_exits_non_zero_on_problems(config: Path, tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_text("email,name\nada@example.org,Ada\nADA@example.org,Ada\n")
    result = cli(config, "check", str(good))
    assert result.returncode == 0, result.stderr
    assert "1 good row(s), 0 problem(s)" in result.stdout
    assert "line 3: ada@example.org repeats line 2" in result.stderr
    bad = tmp_path / "bad.csv"
    bad.write_text("email;name\nada@example.org;Ada\nnobody;Nobody\n")
    result = cli(config, "check", str(bad))
    assert result.returncode == 1
    assert "line 3: 'nobody'" in result.stderr
    assert "1 good row(s), 1 problem(s)" in result.stdout
    assert cli(config, "check", str(tmp_path / "missing.csv")).returncode == 1


def test_import_list_add_remove_export(config: Path, tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_bytes(
        b"\xef\xbb\xbfE-Mail;Name\nada@example.org;Ada\nbroken;Broken\ngrace@example.org;Grace\n"
    )
    result = cli(config, "import", str(source))
    assert result.returncode == 0, result.stderr
    assert "line 3: 'broken'" in result.stderr
    assert "2 added" in result.stdout
    assert cli(config, "remove", "grace@example.org").returncode == 0
    listed = cli(config, "list", "--status", "unsubscribed")
    assert "grace@example.org" in listed.stdout and "ada@example.org" not in listed.stdout
    again = cli(config, "import", str(source))
    assert "1 suppressed" in again.stdout
    refused = cli(config, "add", "grace@example.org")
    assert refused.returncode == 1 and "--resubscribe" in refused.stderr
    assert cli(config, "add", "grace@example.org", "--resubscribe").returncode == 0
    assert "grace@example.org" in cli(config, "list", "--status", "active").stdout
    stranger = cli(config, "remove", "Nobody@Example.org")
    assert stranger.returncode == 0 and "now on the suppression list" in stranger.stdout
    assert "already unsubscribed" in cli(config, "remove", "nobody@example.org").stdout
    assert cli(config, "remove", "not an address").returncode == 1
    source.write_text("email\nada@example.org\ngrace@example.org\nnobody@example.org\n")
    assert "1 suppressed" in cli(config, "import", str(source)).stdout
    out = tmp_path / "out.csv"
    assert cli(config, "export", str(out)).returncode == 0
    exported = list(csv.DictReader(out.open(encoding="utf-8")))
    assert {r["email"]: r["cause"] for r in exported} == {
        "ada@example.org": "import",
        "grace@example.org": "resubscribed by the operator",
        "nobody@example.org": "removed by the operator",
    }


def test_an_emptied_csv_never_stops_mail_to_everyone(engine) -> None:
    sync(engine, parse_csv("email\nada@example.org\ngrace@example.org\n", "list.csv"), remove_missing=True)
    for text in ("", "email,name\n", "email\nnot-an-address\n"):
        report = parse_csv(text, "list.csv")
        assert report.problems or not report.subscribers
        with pytest.raises(SubscriberError) as info:
            sync(engine, report, remove_missing=True)
        assert "refusing to stop mail to all 2 active subscribers" in info.value.message
    assert parse_csv("", "list.csv").problems == ["list.csv: the file is empty"]
    assert store.subscribers.count(engine) == {"active": 2}
    assert sync(engine, parse_csv("", "list.csv"), remove_missing=False)["removed"] == 0


def test_a_page_of_the_list_is_read_in_batches_from_an_offset(engine) -> None:
    text = "email\n" + "".join(f"reader{n:02d}@example.org\n" for n in range(23))
    sync(engine, parse_csv(text, "list.csv"), remove_missing=False)
    for n in (3, 4, 17):
        store.subscribers.unsubscribe(engine, f"reader{n:02d}@example.org", "one-click unsubscribe")
    every = [r.email for r in store.subscribers.iterate(engine)]
    assert [r.email for r in store.subscribers.page(engine)] == every
    for offset, limit in ((0, 5), (5, 5), (20, 10), (23, 1), (30, 5), (2, None)):
        got = [r.email for r in store.subscribers.page(engine, offset=offset, limit=limit, batch=2)]
        assert got == every[offset : None if limit is None else offset + limit], (offset, limit)
    left = [r.email for r in store.subscribers.page(engine, "unsubscribed", offset=1, batch=1)]
    assert left == ["reader04@example.org", "reader17@example.org"]
    assert store.subscribers.count(engine) == {"active": 20, "unsubscribed": 3}
