"""The editor's commands on the offline example, through the real entry point."""

from __future__ import annotations

import os
from pathlib import Path

from conftest import run_cli

HEADLINE = "NATO Secretary General meets EU College of Commissioners"
AS_OF = ("--as-of", "2023-11-17")
COLUMNS = ["#", "id", "place", "title", "source", "date", "link"]


def cli(config: Path, *args: str, env: dict[str, str] | None = None) -> str:
    result = run_cli("--config", str(config), *args, *AS_OF, env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout


def table(output: str) -> list[dict[str, str]]:
    """The draft's table as a command prints it when its output is not a terminal: tab-separated."""
    lines = output.splitlines()
    start = lines.index("\t".join(COLUMNS))
    return [dict(zip(COLUMNS, line.split("\t"), strict=True)) for line in lines[start + 1 :]]


def row(output: str, number: int) -> dict[str, str]:
    return next(r for r in table(output) if r["#"] == str(number))


def ids(output: str) -> dict[str, str]:
    """Each item's id -> its link."""
    return {r["id"]: r["link"] for r in table(output)}


def test_collect_prints_a_numbered_table_with_the_headline(example: Path) -> None:
    out = cli(example, "collect")
    assert row(out, 1)["place"] == "headline" and row(out, 1)["title"] == HEADLINE
    assert row(out, 1)["source"] == "NATO News"
    assert row(out, 2)["place"] == "card 1" and row(out, 2)["date"] == "2023-11-16"
    assert "[video]" in out and row(out, 11)["place"] == "link" and row(out, 11)["source"] == "NATO Features"
    assert all(r["id"].isalpha() and r["link"].startswith("https://www.nato.int/") for r in table(out))
    assert len(ids(out)) == 14


def test_pin_drop_move_add_and_preview_shows_the_edited_issue(example: Path, tmp_path: Path) -> None:
    first = cli(example, "collect")
    stable = ids(first)
    out = cli(example, "draft", "pin", "https://www.nato.int/cps/en/natohq/news_220229.htm?utm_source=mail")
    assert "Latvian President" in row(out, 1)["title"] and out.startswith(f"pinned {row(out, 1)['id']} ")
    headline = row(out, 2)["id"]
    out = cli(example, "draft", "drop", headline)
    assert f"dropped {headline}: {HEADLINE}" in out
    dropped = next(r for r in table(out) if r["id"] == headline)
    assert dropped["place"] == "dropped" and dropped["#"] == "" and dropped == table(out)[-1]
    first_link = row(out, 10)["id"]
    out = cli(example, "draft", "move", first_link, "2")  # the first further link becomes the first card
    assert out.startswith(f"moved {first_link} to #2 (card 1): ")
    assert "Prime Minister of the Netherlands" in row(out, 2)["title"] and row(out, 2)["place"] == "card 1"
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
    added = row(out, 3)
    assert added["title"] == "Our annual report" and added["source"] == "editor"
    assert out.startswith(f"added {added['id']} (#3, card 2): Our annual report")
    assert ids(out) == {**stable, added["id"]: "https://example.org/annual"}  # no id changed
    # Re-collecting reads the feeds again and keeps every choice, and every id.
    again = cli(example, "collect")
    assert table(again) == table(out)
    preview = tmp_path / "preview"
    cli(example, "preview", "--out", str(preview))
    html = (preview / "issue.html").read_text()
    assert html.index("Secretary General welcomes Latvian President") < html.index("Our annual report")
    assert HEADLINE not in html
    out = cli(example, "draft", "restore", headline.upper())  # ids are read in either case
    assert f"restored {headline} (#" in out and HEADLINE in out


def test_bad_references_exit_1_with_a_hint(example: Path) -> None:
    no_draft = run_cli("--config", str(example), "draft", "pin", "hcm", *AS_OF)
    assert (
        no_draft.returncode == 1
        and "no draft yet" in no_draft.stderr
        and "newsletter collect" in no_draft.stderr
    )
    shown = cli(example, "collect")
    fourth = row(shown, 4)["id"]
    for args, message in (
        (("pin", "99"), "99 is a position in the table, not an item"),
        (("pin", "4"), f"#4 is now `{fourth}`"),
        (("pin", "zzzz"), "no item with the id zzzz"),
        (("drop", "https://nowhere.example/x"), "no item with the link"),
        (("restore", fourth), f"{fourth} is not dropped (it is #4, card 3)"),
        (("add", "javascript:alert(1)", "--title", "x"), "only http(s) links"),
        (("add", "https://example.org/x"), "needs a title"),
    ):
        result = run_cli("--config", str(example), "draft", *args, *AS_OF)
        assert result.returncode == 1 and message in " ".join(result.stderr.split()), (args, result.stderr)
    assert table(cli(example, "draft", "show")) == table(shown)  # nothing changed


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
    assert "The Secretary General welcomes" in row(out, 1)["title"] and row(out, 2)["title"] == "Hand-added"
    # the two rows marked dropped: the deleted block and the old headline
    assert [r["place"] for r in table(out)].count("dropped") == 2

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
    assert "The Secretary General welcomes" in row(cli(example, "draft", "show"), 1)["title"]  # unchanged

    editor = 'sed -i "s/Top Five Russian Myths Debunked/Five Russian myths, debunked/"'
    out = cli(example, "draft", "edit", env={**os.environ, "EDITOR": editor})
    assert "Five Russian myths, debunked" in out


def test_the_draft_is_frozen_once_sent(example: Path) -> None:
    cli(example, "send")
    headline = row(cli(example, "draft", "show"), 1)
    result = run_cli("--config", str(example), "draft", "drop", headline["id"], *AS_OF)
    assert result.returncode == 1 and "can no longer change" in result.stderr
    assert row(cli(example, "draft", "show"), 1)["title"] == HEADLINE
