"""The schema is versioned with Alembic: the migrations build what the code declares, on SQLite and
PostgreSQL, and the newest migration is the one the store checks for."""

from __future__ import annotations

from collections.abc import Callable

from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from newsletter.store import open_engine
from newsletter.store.database import HEAD, MIGRATIONS, revision
from newsletter.store.schema import metadata


def test_the_store_checks_for_the_newest_migration() -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_heads() == [HEAD]


def test_the_migrations_build_the_schema_the_code_declares(new_database: Callable[[str], str]) -> None:
    engine = open_engine(new_database("schema"))
    with engine.connect() as conn:
        assert revision(conn) == HEAD
        differences = compare_metadata(MigrationContext.configure(conn), metadata)
    engine.dispose()
    assert differences == []


def test_opening_a_current_database_changes_nothing(new_database: Callable[[str], str]) -> None:
    url = new_database("twice")
    open_engine(url).dispose()
    engine = open_engine(url)
    with engine.connect() as conn:
        tables = set(inspect(conn).get_table_names())
        versions = conn.execute(text("SELECT count(*) FROM alembic_version")).scalar()
    engine.dispose()
    assert {t.name for t in metadata.sorted_tables} <= tables
    assert versions == 1
