"""The command line loads a command's module only when that command runs: `newsletter --help`
lists every command from newsletter/cli/__init__.py's LAZY table, which must say what each
command's own help says."""

from __future__ import annotations

import subprocess
import sys

import click
import pytest

from newsletter.cli import LAZY, main

pytestmark = pytest.mark.sqlite_only  # opens no database


@pytest.mark.parametrize("name", sorted(LAZY))
def test_the_listed_help_is_the_commands_own(name: str) -> None:
    command = main.get_command(click.Context(main), name)
    assert command is not None and command.name == name
    assert LAZY[name][2] == command.get_short_help_str(limit=300)


def test_help_imports_no_stage() -> None:
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from newsletter.cli import main\n"
        "result = CliRunner().invoke(main, ['--help'])\n"
        "assert result.exit_code == 0 and 'subscribers' in result.output, result.output\n"
        "print(' '.join(sorted(m for m in sys.modules if m.startswith(('newsletter.', 'sqlalchemy', 'jinja2')))))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert loaded == ["newsletter.cli", "newsletter.errors"], loaded


def test_an_unknown_command_is_a_usage_error() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "newsletter", "sned"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 2 and "No such command 'sned'" in result.stderr
