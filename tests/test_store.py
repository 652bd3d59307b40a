"""Several processes opening (and filling) a new database at the same moment, as two daemons or a
daemon and a cron job do on their first run: on SQLite a new file, on PostgreSQL an empty database."""

from __future__ import annotations

from pathlib import Path

from conftest import at_once

from newsletter.store import open_engine


def _open(url: str) -> None:
    open_engine(url)


def test_processes_opening_a_new_database_at_once_all_succeed(new_database) -> None:
    for n in range(8):
        assert at_once(_open, new_database(f"new{n}")) == [0, 0, 0, 0]


def _sync(url: str, csv_path: str) -> None:
    from newsletter.subscribers import read_csv, sync

    sync(open_engine(url), read_csv(Path(csv_path)), remove_missing=True)


def test_processes_syncing_a_new_list_at_once_all_succeed(tmp_path: Path, new_database) -> None:
    csv_path = tmp_path / "list.csv"
    csv_path.write_text("email,name\n" + "".join(f"r{n}@example.org,R {n}\n" for n in range(300)))
    for n in range(4):
        url = new_database(f"list{n}")
        open_engine(url).dispose()
        assert at_once(_sync, url, str(csv_path), processes=3) == [0, 0, 0]
