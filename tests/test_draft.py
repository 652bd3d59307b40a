"""The editor's commands on the offline example, through the real entry point."""

from __future__ import annotations

import os
from pathlib import Path

from conftest import run_cli

HEADLINE = "NATO Secretary General meets EU College of Commissioners"
AS_OF = ("--as-of", "2023-11-17")


def cli(config: Path, *args: str, env: dict[str, str] | None = None) -> str:
    result = run_cli("--config", str(config), *args, *AS_OF, env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout


def row(output: str, number: int) -> str:
    return next(line for line in output.splitlines() if line.startswith(f"│ {number:>2} │"))


def test_collect_prints_a_numbered_table_with_the_headline(example: Path) -> None:
    out = cli(example, "collect")
    assert "headline" in row(out, 1) and "EU College of" in row(out, 1) and "NATO News" in row(out, 1)
    assert "card 1" in row(out, 2) and "2023-11-16" in row(out, 2)
    assert "[video]" in out and "link" in row(out, 11) and "NATO Features" in row(out, 11)


def test_pin_drop_move_add_and_preview_shows_the_edited_issue(example: Path, tmp_path: Path) -> None:
    cli(example, "collect")
    out = cli(example, "draft", "pin", "https://www.nato.int/cps/en/natohq/news_220229.htm?utm_source=mail")
    assert "Latvian President" in row(out, 1)
    out = cli(example, "draft", "drop", "2")
    assert "dropped: " + HEADLINE in out and "dropped" in row(out, 14)
    out = cli(example, "draft", "move", "10", "2")  # the first further link becomes the first card
    assert "Prime Minister of the Netherlands" in row(out, 2) and "card 1" in row(out, 2)
    out = cli(
        example,
        "draft",
        "add",
        "https://example.org/annual",
        "--title",
        "Our annual report",
        "--position",
        "3",
    )
    assert "Our annual report" in row(out, 3) and "editor" in row(out, 3)
    # Re-collecting reads the feeds again and keeps every choice.
    again = cli(example, "collect")
    assert again.splitlines()[1:] == out.splitlines()[2:]
    preview = tmp_path / "preview"
    cli(example, "preview", "--out", str(preview))
    html = (preview / "issue.html").read_text()
    assert html.index("Secretary General welcomes Latvian President") < html.index("Our annual report")
    assert HEADLINE not in html
    out = cli(example, "draft", "restore", "15")
    assert "restored: " + HEADLINE in out


def test_bad_references_exit_1_with_a_hint(example: Path) -> None:
    no_draft = run_cli("--config", str(example), "draft", "pin", "1", *AS_OF)
    assert (
        no_draft.returncode == 1
        and "no draft yet" in no_draft.stderr
        and "newsletter collect" in no_draft.stderr
    )
    cli(example, "collect")
    for args, message in (
        (("pin", "99"), "no item number 99"),
        (("drop", "https://nowhere.example/x"), "no item with the link"),
        (("add", "javascript:alert(1)", "--title", "x"), "only http(s) links"),
        (("add", "https://example.org/x"), "needs a title"),
    ):
        result = run_cli("--config", str(example), "draft", *args, *AS_OF)
        assert result.returncode == 1 and message in result.stderr, (args, result.stderr)


def test_edit_the_draft_as_a_file(example: Path, tmp_path: Path) -> None:
    cli(example, "collect")
    exported = tmp_path / "draft.toml"
    cli(example, "draft", "edit", "--export", str(exported))
    text = exported.read_text()
    assert text.splitlines().count("[[items]]") == 14 and 'role = "headline"' in text
    blocks = text.split("\n[[items]]\n")
    head, first, second, rest = blocks[0], blocks[1], blocks[2], blocks[3:]
    second = second.replace('role = "card"', 'role = "headline"').replace(
        "Secretary General welcomes", "The Secretary General welcomes"
    )
    first = first.replace('role = "headline"', 'role = "drop"')
    added = 'role = "card"\ntitle = "Hand-added"\nlink = "https://example.org/hand"\n'
    exported.write_text("\n[[items]]\n".join([head, second, added, first, *rest[1:]]))  # one card deleted
    out = cli(example, "draft", "edit", "--import", str(exported))
    assert "The Secretary General welcomes" in row(out, 1) and "Hand-added" in row(out, 2)
    assert (
        out.count("dropped") == 2 + 0
    )  # the two rows marked dropped (the deleted block and the old headline)

    broken = tmp_path / "broken.toml"
    broken.write_text(
        '[[items]]\nrole = "headline"\ntitle = "a"\nlink = "https://e.org/a"\n[[items]]\nrole = "headline"\ntitle = "b"\nlink = "https://e.org/b"\n'
    )
    result = run_cli("--config", str(example), "draft", "edit", "--import", str(broken), *AS_OF)
    assert result.returncode == 1 and "only one item can be the headline" in result.stderr
    broken.write_text('[[items]]\ntitle = "a"\nlink = "https://e.org/a"\nimage = "javascript:alert(1)"\n')
    result = run_cli(
        "--config",
        str(example),
        "draft",
        "edit",
        "--import",
        str(broken),
        *AS_OF,
    )
    assert result.returncode == 1 and "items[1]: image must be an http(s) URL" in result.stderr
    assert "The Secretary General welcomes" in row(cli(example, "draft", "show"), 1)  # unchanged

    editor = 'sed -i "s/Top Five Russian Myths Debunked/Five Russian myths, debunked/"'
    out = cli(example, "draft", "edit", env={**os.environ, "EDITOR": editor})
    assert "Five Russian myths, debunked" in out


def test_the_draft_is_frozen_once_sent(example: Path) -> None:
    cli(example, "send")
    result = run_cli("--config", str(example), "draft", "drop", "1", *AS_OF)
    assert result.returncode == 1 and "can no longer change" in result.stderr
    assert HEADLINE in row(cli(example, "draft", "show"), 1)
