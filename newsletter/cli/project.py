"""`newsletter init`: a commented config, a subscriber list and the templates to start from."""

from __future__ import annotations

import shutil
from pathlib import Path

import click

from newsletter.cli.common import console
from newsletter.render.templates import default_templates
from newsletter.starter import starter_file


@click.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), default=".")
@click.option("--force", is_flag=True, help="Overwrite files that already exist.")
def init(directory: Path, force: bool) -> None:
    """Write newsletter.toml, subscribers.csv and a copy of the templates into DIRECTORY."""
    directory.mkdir(parents=True, exist_ok=True)
    targets = {
        # The copied templates are the ones in use, so editing them changes the email at once.
        directory / "newsletter.toml": starter_file("newsletter.example.toml").replace(
            'templates = ""  ', 'templates = "templates"', 1
        ),
        directory / "subscribers.csv": starter_file("subscribers.example.csv"),
    }
    for target, text in targets.items():
        if target.exists() and not force:
            console.print(f"kept     {target} (exists; --force to overwrite)")
            continue
        target.write_text(text, encoding="utf-8")
        console.print(f"wrote    {target}")
    templates = directory / "templates"
    if templates.exists() and not force:
        console.print(f"kept     {templates}/ (exists)")
    else:
        shutil.copytree(
            default_templates(),
            templates,
            dirs_exist_ok=True,
            ignore=shutil.ignore_patterns("__pycache__", "*.py"),
        )
        console.print(
            f"wrote    {templates}/ (edit these to change the email; delete a file to use the default)"
        )
    console.print(
        f"\nNext: edit {directory / 'newsletter.toml'}, then run "
        f"`newsletter --config {directory / 'newsletter.toml'} preview`.\n"
        "Before the first real send, set NEWSLETTER_SECRET to a long random value (`openssl rand -hex 32`) "
        "and keep it (it signs the unsubscribe links), then run `newsletter check`: it says what "
        "would make the first issue fail its readers."
    )


COMMANDS = [init]
