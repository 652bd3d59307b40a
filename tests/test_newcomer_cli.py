"""What a new user met on a first week with the commands, each through the real entry point: an
emptied draft file, item numbers that moved under them, a long list, a source taken out of the
config, and tables in 80 columns and through a pipe."""

from __future__ import annotations

import os
import re
from pathlib import Path

from conftest import run_cli
from test_draft import AS_OF, HEADLINE, cli, ids, row, table

from newsletter import store
from newsletter.cli.common import failing_sources
from newsletter.config import load_settings

ANSI = re.compile(r"\x1b\[[0-9;]*m")
TERMINAL = {"TTY_COMPATIBLE": "1", "COLUMNS": "80"}  # rich lays the output out for an 80-column terminal


def on_terminal(config: Path, *args: str) -> list[str]:
    result = run_cli("--config", str(config), *args, env={**os.environ, **TERMINAL})
    assert result.returncode == 0, result.stderr
    return ANSI.sub("", result.stdout).splitlines()


# --- 1. an emptied or unreadable draft file changes nothing; dropping everything is said plainly


def test_an_empty_or_non_utf8_draft_file_changes_nothing(example: Path, tmp_path: Path) -> None:
    before = table(cli(example, "collect"))
    empty = tmp_path / "empty.toml"
    for content in (b"", b"\n  \n", b"\xef\xbb\xbf\n"):
        empty.write_bytes(content)
        out = cli(example, "draft", "edit", "--import", str(empty))
        assert out.startswith(f"no change: {empty} is empty, so the draft is as it was")
        assert table(out) == before
    out = cli(example, "draft", "edit", env={**os.environ, "EDITOR": "truncate -s 0"})
    assert out.startswith("no change: the edited draft is empty") and table(out) == before

    latin1 = tmp_path / "latin1.toml"
    latin1.write_bytes('[[items]]\ntitle = "Café"\nlink = "https://example.org/cafe"\n'.encode("latin-1"))
    result = run_cli("--config", str(example), "draft", "edit", "--import", str(latin1), *AS_OF)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert f"no change: {latin1} is not UTF-8 text (line 2 has the byte 0xe9)" in result.stdout
    assert "save it as UTF-8" in result.stdout and table(result.stdout) == before
    editor = "sed -i 's/Debunked/D\\xe9bunked/'"  # GNU sed writes the byte 0xe9 itself
    out = cli(example, "draft", "edit", env={**os.environ, "EDITOR": editor})
    assert "no change: the edited draft is not UTF-8 text" in out and table(out) == before

    assert "to 4 subscriber(s)" in cli(example, "send", "--dry-run")  # the draft as collected


def test_dropping_every_item_on_purpose_is_said_plainly(example: Path, tmp_path: Path) -> None:
    cli(example, "collect")
    exported = tmp_path / "draft.toml"
    cli(example, "draft", "edit", "--export", str(exported))
    comments = exported.read_text().split("[[items]]")[0]
    exported.write_text(comments)  # every block deleted, the file's comments kept: meant
    plainly = "the editor dropped all 14 items of issue 2023-W46: it is empty on purpose"
    out = cli(example, "draft", "edit", "--import", str(exported))
    assert plainly in out and {r["place"] for r in table(out)} == {"dropped"}
    for command in (("draft", "show"), ("collect",)):
        out = cli(example, *command)
        assert plainly in out and "nothing new" not in out.lower(), command
    back = table(out)[3]["id"]
    out = cli(example, "draft", "restore", back)
    assert plainly not in out and row(out, 1)["id"] == back
    dropping = """sed -i 's/^role = .*/role = "drop"/'"""
    out = cli(example, "draft", "edit", env={**os.environ, "EDITOR": dropping})
    assert plainly in out
    out = cli(example, "draft", "reset")
    assert plainly not in out and row(out, 1)["title"] == HEADLINE


# --- 2. ids that stay put, and messages that agree with the table


def test_ids_stay_the_same_and_every_message_agrees_with_the_table(example: Path) -> None:
    stable = ids(cli(example, "collect"))

    def said(out: str, item: str) -> tuple[str, str]:
        """The command's message, and the item's place as the table printed with it says it."""
        assert ids(out) == stable  # no id changed
        shown = next(r for r in table(out) if r["id"] == item)
        where = "dropped" if shown["place"] == "dropped" else f"#{shown['#']}, {shown['place']}"
        return out.splitlines()[0], where

    fourth = row(cli(example, "draft", "show"), 4)["id"]
    for _ in range(2):  # the user's `draft move 4 5`, then the same again: the id still names it
        message, where = said(cli(example, "draft", "move", fourth, "5"), fourth)
        assert message.startswith(f"moved {fourth} to #5 (card 4): ") and where == "#5, card 4"
    message, where = said(cli(example, "draft", "move", fourth, "99"), fourth)
    assert message.startswith(f"moved {fourth} to #14, the last place (link): ") and where == "#14, link"
    message, where = said(cli(example, "draft", "drop", fourth), fourth)
    assert message.startswith(f"dropped {fourth}: ") and where == "dropped"
    message, where = said(cli(example, "draft", "restore", fourth), fourth)
    assert message.startswith(f"restored {fourth} ({where}): ") and where.startswith("#")
    message, where = said(cli(example, "draft", "pin", fourth), fourth)
    assert message.startswith(f"pinned {fourth} as the headline (#1, headline): ") and where == "#1, headline"


def test_positions_past_the_links_that_fit_agree_with_the_table(example: Path) -> None:
    # Few cards and links: the further links that do not fit are listed as "no room", in the
    # order the issue would take them, and a move there lands where it says.
    example.write_text(example.read_text().replace("max_cards = 12", "max_cards = 3\nmax_links = 2"))
    out = cli(example, "collect")
    places = ["headline", "card 1", "card 2", "card 3", "link", "link", "no room", "no room"]
    assert [r["place"] for r in table(out)][:8] == places
    for number, position in ((2, 7), (12, 5), (7, 9), (3, 6), (9, 1), (13, 14), (5, 8)):
        item = row(out, number)["id"]
        out = cli(example, "draft", "move", item, str(position))
        moved = next(r for r in table(out) if r["id"] == item)
        assert moved["#"] == str(position), (number, position, out.splitlines()[0])
        assert out.splitlines()[0].startswith(f"moved {item} to #{position} ({moved['place']}): ")


def test_a_position_given_as_an_item_is_refused_with_the_id_it_holds(example: Path) -> None:
    out = cli(example, "collect")
    result = run_cli("--config", str(example), "draft", "drop", "4", *AS_OF)
    said = " ".join(result.stderr.split())
    assert result.returncode == 1 and "4 is a position in the table, not an item" in said
    assert f"#4 is now `{row(out, 4)['id']}`" in said
    assert table(cli(example, "draft", "show")) == table(out)


# --- 3. a long list: paged, counted, streamed


def list_config(tmp_path: Path, n: int) -> Path:
    config = tmp_path / "newsletter.toml"
    config.write_text('[newsletter]\nname = "Test"\ndatabase = "list.db"\n[subscribers]\ncsv = ""\n')
    rows = "".join(f"reader{k:03d}@example.org,Reader {k}\n" for k in range(n))
    people = tmp_path / "people.csv"
    people.write_text("email,name\n" + rows)
    assert run_cli("--config", str(config), "subscribers", "import", str(people)).returncode == 0
    return config


def listed(config: Path, *args: str) -> tuple[list[list[str]], str]:
    result = run_cli("--config", str(config), "subscribers", "list", *args)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "email\tname\tstatus\tsince\tcause"
    return [line.split("\t") for line in lines[1:]], " ".join(result.stderr.split())


def test_the_list_is_paged_and_counted(tmp_path: Path) -> None:
    config = list_config(tmp_path, 120)
    for email in ("reader007@example.org", "reader100@example.org"):
        assert run_cli("--config", str(config), "subscribers", "remove", email).returncode == 0
    every, counted = listed(config, "--all")
    assert len(every) == 120 and counted == "120 subscriber(s): 118 active, 2 unsubscribed; all shown"
    page, counted = listed(config)
    assert page == every[:50]
    assert counted == (
        "120 subscriber(s): 118 active, 2 unsubscribed; shown: 1-50 "
        "(`--offset 50` for the next 50, `--all` for every one)"
    )
    page, counted = listed(config, "--offset", "100")
    assert page == every[100:] and counted.endswith("shown: 101-120")
    page, _ = listed(config, "--limit", "5", "--offset", "3")
    assert page == every[3:8]
    page, counted = listed(config, "--status", "unsubscribed")
    assert [p[0] for p in page] == ["reader007@example.org", "reader100@example.org"]
    assert page[0][4] == "removed by the operator"
    assert counted == "2 unsubscribed of 120 subscriber(s) (118 active, 2 unsubscribed); all shown"
    page, counted = listed(config, "--status", "active", "--offset", "200")
    assert page == [] and counted.endswith("none after the first 200")
    result = run_cli("--config", str(config), "subscribers", "list", "--limit", "0")
    assert result.returncode == 2


# --- 4. a source taken out of the config is no longer reported as failing


def test_only_configured_sources_are_reported_failing(example: Path) -> None:
    configured = example.read_text()
    example.write_text(configured + '\n[[sources]]\nname = "Old feed"\npath = "gone.xml"\n')
    for _ in range(2):
        result = run_cli("--config", str(example), "collect", *AS_OF)
        assert result.returncode == 0 and "gone.xml" in result.stderr, result.stderr
    settings = load_settings(example)
    engine = store.open_engine(settings.database_url)
    try:
        (failing,) = failing_sources(settings, engine)
        assert failing["name"] == "Old feed" and failing["failures"] == 2
        assert failing["source"].endswith("gone.xml")
        example.write_text(configured)  # the source is taken out of the config
        settings = load_settings(example)
        assert failing_sources(settings, engine) == []
        assert [f["source"] for f in store.feeds.failing(engine)] == [failing["source"]]  # still stored
    finally:
        engine.dispose()


# --- 5. tables in 80 columns and through a pipe


def test_the_draft_fits_80_columns_and_is_whole_when_piped(example: Path) -> None:
    piped = cli(example, "collect")
    long_title = (
        "NATO Secretary General addresses protection of critical undersea infrastructure, "
        "support to Ukraine with EU Defence Ministers"
    )
    assert row(piped, 3)["title"] == long_title  # whole, on one line
    lines = on_terminal(example, "draft", "show", *AS_OF)
    assert lines[0].startswith("Issue 2023-W46: ")
    assert lines[1].split() == ["#", "id", "place", "title", "source", "date"]
    assert len(lines) == 3 + 14 and all(len(line) <= 80 for line in lines)  # one line per item
    for number, line in enumerate(lines[3:], start=1):
        item = row(piped, number)
        assert line.split()[:3] == [str(number), item["id"], item["place"].split()[0]]
        assert item["title"][:20] in line and item["source"] in line and item["date"] in line
    assert long_title[:20] in lines[5] and "…" in lines[5]  # cut, with the whole title piped


def test_the_list_fits_80_columns_and_no_address_is_cut(tmp_path: Path) -> None:
    config = list_config(tmp_path, 3)
    long = "margaret.hamilton.apollo.guidance@computer.example.org"
    name = "Margaret Heafield Hamilton, Director of Software Engineering"
    assert run_cli("--config", str(config), "subscribers", "add", long, "--name", name).returncode == 0
    lines = on_terminal(config, "subscribers", "list")
    assert lines[0].split()[:1] == ["email"] and all(len(line) <= 80 for line in lines)
    assert len(lines) == 2 + 4 + 1  # header, rule, one line per subscriber, the count
    assert any(line.startswith(long + " ") for line in lines)  # whole, never wrapped
    assert lines[-1] == "4 subscriber(s): 4 active; all shown"
    page, _ = listed(config)
    assert [long, name, "active"] == page[-1][:3]  # piped: every value whole
