"""A database made by release 0.1 (tests/data/README.md says how) upgrades in place on first use,
on SQLite and on PostgreSQL: every row kept, the next week sent to the list as it stood, nobody who
left mailed, and processes opening it at the same moment upgrade it once."""

from __future__ import annotations

import shutil
from pathlib import Path

import psycopg
from conftest import at_once, run_cli
from sqlalchemy import func, select

from newsletter import store
from newsletter.config import load_settings
from newsletter.models import IssueState, SubscriberStatus
from newsletter.store import schema
from newsletter.store.database import HEAD, revision

DATA = Path(__file__).parent / "data"
NEXT_WEEK_STORY = (
    "<item><title>A story of the next week</title><link>https://www.nato.int/next-week.htm</link>"
    "<description>Something happened.</description><pubDate>Mon, 20 Nov 2023 10:00:00 GMT</pubDate></item>"
)


def load_dump(url: str, dump: Path) -> None:
    """Run pg_dump's plain SQL through psycopg: statements as they are, COPY blocks through copy(),
    the \\restrict meta-commands of recent pg_dump skipped."""
    statement: list[str] = []
    lines = iter(dump.read_text().splitlines())
    with psycopg.connect(url, autocommit=True) as conn:
        for line in lines:
            if line.startswith("\\") or (not statement and (not line.strip() or line.startswith("--"))):
                continue
            statement.append(line)
            if not line.rstrip().endswith(";"):
                continue
            sql, statement = "\n".join(statement), []
            if sql.startswith("COPY ") and sql.rstrip().endswith("FROM stdin;"):
                with conn.cursor() as cur, cur.copy(sql) as copy:
                    for row in lines:
                        if row == "\\.":
                            break
                        copy.write(row + "\n")
            else:
                conn.execute(sql)


def release_project(example: Path, database: str | None) -> Path:
    """The example project over the release's database; the list lives in the database alone."""
    if database is None:
        shutil.copy(DATA / "release-0.1.db", example.parent / "newsletter.db")
    else:
        load_dump(database, DATA / "release-0.1.pg.sql")
    config = example.read_text().replace('csv = "subscribers.csv"', 'csv = ""')
    example.write_text(config)
    feed = example.parent / "feed.xml"
    feed.write_text(feed.read_text().replace("<item>", NEXT_WEEK_STORY + "<item>", 1))
    return example


def test_a_release_0_1_database_upgrades_in_place_and_keeps_everything(
    example: Path, database: str | None
) -> None:
    config = release_project(example, database)
    status = run_cli("--config", str(config), "status")
    assert status.returncode == 0, status.stderr
    assert "2023-W46" in status.stdout and "2023-W47" in status.stdout

    engine = store.open_engine(load_settings(config).database_url)
    with engine.connect() as conn:
        assert revision(conn) == HEAD
        ledger = conn.execute(select(schema.deliveries.c.state, func.count()).group_by("state")).all()
        seen = conn.execute(select(func.count()).select_from(schema.seen_items)).scalar()
    assert dict(ledger) == {"sent": 4} and seen == 14
    sent, draft = store.issues.get(engine, "2023-W46"), store.issues.get(engine, "2023-W47")
    assert sent is not None and sent.state == IssueState.SENT and sent.sent_at is not None
    assert sent.subject == "What's new at NATO: 17 November 2023" and len(sent.html) == 53495
    assert len(sent.draft.candidates) == 14
    assert draft is not None and draft.state == IssueState.DRAFT
    assert [c.item.title for c in draft.draft.candidates] == ["A story of the next week"]
    people = {s.email: (s.status, s.name, s.fields) for s in store.subscribers.iterate(engine)}
    assert people == {
        "ada@example.org": (SubscriberStatus.ACTIVE, "Ada Lovelace", {"city": "London"}),
        "grace@example.org": (SubscriberStatus.UNSUBSCRIBED, "Grace Hopper", {"city": "Arlington"}),
        "linus@example.org": (SubscriberStatus.ACTIVE, "Linus Åkesson", {"city": "Lund"}),
        "margaret@example.org": (SubscriberStatus.ACTIVE, "Margaret Hamilton", {"city": "Boston"}),
        "alan@example.org": (SubscriberStatus.ACTIVE, "Alan Turing", {}),
    }
    engine.dispose()

    # The week after: sent to the list as the release left it, never to the address that left.
    again = run_cli("--config", str(config), "send", "--as-of", "2023-11-24")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "issue 2023-W47: 4 sent" in again.stdout
    outbox = example.parent / "outbox" / "new"
    recipients = sorted(
        line.split(":", 1)[1].strip()
        for message in outbox.iterdir()
        for line in message.read_text(errors="replace").splitlines()
        if line.startswith("To:")
    )
    assert len(recipients) == 4 and not any("grace" in r for r in recipients)
    # the week already sent stays sent
    assert "was sent on" in run_cli("--config", str(config), "send", "--as-of", "2023-11-17").stdout


def _open(url: str) -> None:
    store.open_engine(url).dispose()


def test_processes_opening_a_release_0_1_database_at_once_upgrade_it_once(
    example: Path, database: str | None
) -> None:
    url = load_settings(release_project(example, database)).database_url
    assert at_once(_open, url) == [0, 0, 0, 0]
    engine = store.open_engine(url)
    with engine.connect() as conn:
        assert revision(conn) == HEAD
        assert conn.execute(select(func.count()).select_from(schema.subscribers)).scalar() == 5
    engine.dispose()
