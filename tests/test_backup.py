"""Nothing lost with the database: a configuration that sent issues never starts over on an empty
database by accident; `newsletter backup` copies the database while it is in use, and a copy
restores; a running `serve` stops answering for a database file that was deleted."""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from email import message_from_bytes
from pathlib import Path

import httpx
import psycopg
import pytest
from conftest import free_port, run_cli
from test_web import SECRET, serving

AS_OF = "2023-11-17"


def cli(example: Path, *args: str):  # type: ignore[no-untyped-def]
    return run_cli("--config", str(example), *args)


def lose_the_database(example: Path, database: str | None) -> None:
    """What `rm newsletter.db` does, or an empty PostgreSQL database in place of the old one."""
    if database is None:
        for path in example.parent.glob("newsletter.db*"):
            path.unlink()
        return
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")


def outbox(example: Path) -> list[Path]:
    folder = example.parent / "outbox" / "new"
    return sorted(folder.iterdir()) if folder.exists() else []


def test_a_lost_database_is_refused_not_replaced_by_an_empty_one(example: Path, database: str | None) -> None:
    first = cli(example, "send", "--as-of", AS_OF)
    assert first.returncode == 0, first.stderr
    sent = len(outbox(example))
    lose_the_database(example, database)
    again = cli(example, "send", "--as-of", AS_OF)
    assert again.returncode == 1
    assert "issue 2023-W46 was sent from this configuration's database" in " ".join(again.stderr.split())
    assert "restore the database from a backup" in again.stderr
    assert len(outbox(example)) == sent  # nothing sent again
    if database is None:
        assert not (example.parent / "newsletter.db").exists()  # and nothing created
    for command in (("status",), ("subscribers", "list"), ("collect", "--as-of", AS_OF)):
        assert cli(example, *command).returncode == 1, command
    # Starting over on purpose: the message says how.
    (example.parent / ".newsletter-history").unlink()
    assert cli(example, "send", "--as-of", AS_OF).returncode == 0


@pytest.mark.sqlite_only
def test_a_backup_taken_during_use_restores_the_list_and_the_ledger(example: Path, tmp_path: Path) -> None:
    assert cli(example, "send", "--as-of", AS_OF).returncode == 0
    with sqlite3.connect(example.parent / "newsletter.db") as held:  # a reader holding the file open
        held.execute("SELECT count(*) FROM subscribers").fetchone()
        made = cli(example, "backup")
    assert made.returncode == 0, made.stderr
    copy = Path(made.stdout.split("backed up to", 1)[1].strip())
    assert copy.parent == example.parent / "backups" and copy.exists()
    named = cli(example, "backup", str(tmp_path / "mine.db"))
    assert named.returncode == 0 and (tmp_path / "mine.db").exists()
    assert cli(example, "backup", str(tmp_path / "mine.db")).returncode == 1  # never overwrites
    assert cli(example, "subscribers", "remove", "ada@example.org").returncode == 0

    for path in example.parent.glob("newsletter.db*"):
        path.unlink()
    shutil.copy(copy, example.parent / "newsletter.db")
    status = cli(example, "status")
    assert status.returncode == 0 and "2023-W46" in status.stdout
    assert "was sent on" in cli(example, "send", "--as-of", AS_OF).stdout


@pytest.mark.postgresql_only
def test_backup_on_postgresql_points_to_pg_dump(example: Path) -> None:
    assert cli(example, "send", "--as-of", AS_OF).returncode == 0
    made = cli(example, "backup")
    assert made.returncode == 1 and "pg_dump" in made.stderr


def served_and_sent(example: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    """The example's links pointing at a port for `serve`; the week sent. Returns the port."""
    monkeypatch.setenv("NEWSLETTER_SECRET", SECRET)
    port = free_port()
    example.write_text(example.read_text().replace("http://127.0.0.1:8025", f"http://127.0.0.1:{port}"))
    assert cli(example, "send", "--as-of", AS_OF).returncode == 0
    return port


def one_click_url(message: Path) -> str:
    header = str(message_from_bytes(message.read_bytes())["List-Unsubscribe"])
    return next(part.strip(" <>") for part in header.split(",") if "http" in part)


@pytest.mark.sqlite_only
def test_serve_refuses_to_record_into_a_deleted_database_file(
    example: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = served_and_sent(example, monkeypatch)
    url = one_click_url(outbox(example)[0])
    with serving(example, port):
        for path in example.parent.glob("newsletter.db*"):
            path.unlink()
        answer = httpx.post(url, data={"List-Unsubscribe": "One-Click"}, timeout=10)
    assert answer.status_code == 503


@pytest.mark.sqlite_only
def test_a_locked_database_is_one_line_naming_it(tmp_path: Path) -> None:
    from sqlalchemy import create_engine, text

    from newsletter.store.database import explain

    path = tmp_path / "locked.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN EXCLUSIVE")
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 0.1})
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO t VALUES (1)"))
    except Exception as exc:  # noqa: BLE001 (the real error SQLite gives, whatever its class)
        error = explain(exc, f"sqlite:///{path}")  # type: ignore[arg-type]
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert "locked by another process" in error.message and str(path) in error.message
    assert error.hint and "run again" in error.hint


NEXT_WEEK_STORY = (
    "<item><title>A story of the next week</title><link>https://www.nato.int/next-week.htm</link>"
    "<description>Something happened.</description><pubDate>Mon, 20 Nov 2023 10:00:00 GMT</pubDate></item>"
)


@pytest.mark.sqlite_only
def test_who_left_after_a_backup_is_not_mailed_after_it_is_restored(
    example: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = served_and_sent(example, monkeypatch)
    copy = Path(cli(example, "backup").stdout.split("backed up to", 1)[1].strip())
    # After the backup: Grace leaves by the one-click link, Linus through the operator, and Ada
    # asks to be forgotten.
    url = one_click_url(next(p for p in outbox(example) if b"grace@example.org" in p.read_bytes()))
    with serving(example, port):
        assert httpx.post(url, data={"List-Unsubscribe": "One-Click"}, timeout=10).status_code == 200
    assert cli(example, "subscribers", "remove", "linus@example.org").returncode == 0
    assert cli(example, "subscribers", "forget", "ada@example.org", "--yes").returncode == 0
    # The database is lost and the backup, older than both, restored.
    for path in example.parent.glob("newsletter.db*"):
        path.unlink()
    shutil.copy(copy, example.parent / "newsletter.db")
    feed = example.parent / "feed.xml"
    feed.write_text(feed.read_text().replace("<item>", NEXT_WEEK_STORY + "<item>", 1))
    before = set(outbox(example))
    sent = cli(example, "send", "--as-of", "2023-11-24")
    assert sent.returncode == 0, sent.stdout + sent.stderr
    assert "3 subscriber(s) left or were erased after this database was last saved" in " ".join(
        sent.stderr.split()
    )
    got = [message_from_bytes(p.read_bytes())["To"] for p in set(outbox(example)) - before]
    assert len(got) == 1 and not any(who in str(got) for who in ("grace", "linus", "ada")), got
    # What the backup still held about Ada (her name, her fields, her deliveries) is erased again.
    shown = cli(example, "subscribers", "show", "ada@example.org").stdout
    assert "erased on request" in shown and "Lovelace" not in shown


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """An 8 MB tmpfs of its own (root may mount one here; elsewhere the test is skipped)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)], capture_output=True)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a small filesystem here: {made.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.mark.sqlite_only
def test_a_full_or_read_only_disk_is_one_line_and_loses_nothing(
    example: Path, small_disk: Path, tmp_path: Path
) -> None:
    example.write_text(
        example.read_text().replace('database = "newsletter.db"', f'database = "{small_disk}/news.db"')
    )
    assert cli(example, "send", "--as-of", AS_OF).returncode == 0
    before = cli(example, "subscribers", "list").stdout
    many = tmp_path / "many.csv"
    many.write_text(
        "email,name\n" + "".join(f"reader{i}@example.org,Reader number {i:06}\n" for i in range(10000))
    )
    # The disk fills up, another file taking all but 256 KB: too little for the import.
    filler = small_disk / "filler"
    with filler.open("wb", buffering=0) as handle, contextlib.suppress(OSError):
        while True:
            handle.write(b"\0" * 4096)
    os.truncate(filler, filler.stat().st_size - 256 * 1024)
    full = cli(example, "subscribers", "import", str(many))
    assert full.returncode == 1 and "Traceback" not in full.stderr, full.stderr
    assert f"{small_disk}/news.db is full" in " ".join(full.stderr.split())
    filler.unlink()
    assert cli(example, "subscribers", "list").stdout == before  # nothing half-written
    # The same filesystem read-only: a write is refused in one line, the list still reads.
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    refused = cli(example, "subscribers", "add", "new@example.org")
    assert refused.returncode == 1 and "Traceback" not in refused.stderr, refused.stderr
    assert "read-only" in refused.stderr and f"{small_disk}/news.db" in " ".join(refused.stderr.split())
    subprocess.run(["mount", "-o", "remount,rw", str(small_disk)], check=True)
    assert cli(example, "subscribers", "list").stdout == before
    imported = cli(example, "subscribers", "import", str(many))
    assert imported.returncode == 0 and "10000 added" in imported.stdout, imported.stderr
