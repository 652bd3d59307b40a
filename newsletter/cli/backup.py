"""`newsletter backup`: a consistent copy of the database."""

from __future__ import annotations

from pathlib import Path

import click

from newsletter.cli.common import console, open_store, settings_from
from newsletter.store.backup import backup as backup_database


@click.command()
@click.argument("path", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
def backup(ctx: click.Context, path: Path | None) -> None:
    """Copy the database to PATH (default: backups/ beside it), safely while sends and serve run."""
    target = backup_database(open_store(settings_from(ctx)), path)
    console.print(f"backed up to {target}", markup=False)


COMMANDS = [backup]
