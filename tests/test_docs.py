"""Every command has help text and appears in the README (as sqlite-utils checks its own docs)."""

from __future__ import annotations

import click
import pytest
from conftest import ROOT

from newsletter.cli import main

pytestmark = pytest.mark.sqlite_only  # reads the commands' help and the README; opens no database

README = (ROOT / "README.md").read_text(encoding="utf-8")


def _commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    found = []
    context = click.Context(group)
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        assert command is not None, name
        if getattr(command, "hidden", False):
            continue
        full = f"{prefix}{name}"
        found.append((full, command))
        if isinstance(command, click.Group):
            found += _commands(command, prefix=f"{full} ")
    return found


COMMANDS = _commands(main)


def test_there_are_commands() -> None:
    assert {"init", "collect", "preview", "send", "status"} <= {name for name, _ in COMMANDS}


@pytest.mark.parametrize(("name", "command"), COMMANDS, ids=[n for n, _ in COMMANDS])
def test_command_has_help_and_is_in_readme(name: str, command: click.Command) -> None:
    assert (command.help or "").strip(), f"`newsletter {name}` has no --help text"
    assert f"`{name}" in README, f"`newsletter {name}` is missing from the README's commands"
    for param in command.params:
        if isinstance(param, click.Option) and not param.hidden:
            assert param.help, f"`newsletter {name}` option {param.opts[0]} has no help text"
