"""The editor's changes to a stored draft: pin, drop, restore, move, add, and a TOML file to edit.

Items are referred to by their id or their URL. An id is a few letters made from the story's link
(``short_ids``): it never changes when items move, are dropped or restored, nor when the feeds are
read again, and, having no digits, it is never taken for a position. A position is a row's number
in the draft's table (headline 1, then the cards, the further links, the links that do not fit);
it changes with every move, so it says where to put an item, never which item. Every change is a
choice stored beside the candidates (see ``newsletter.collect``), so re-collecting keeps it. A
draft that is being sent (or was sent) is frozen.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Engine

from newsletter import store
from newsletter.collect import arrange, issue_from_draft, period_of, story_key
from newsletter.config import Settings
from newsletter.errors import CollectError
from newsletter.models import EDITABLE, Candidate, Choices, Draft, Issue, IssueState, Item, Period
from newsletter.sources.feed import clean_text, safe_url

ROLES = ("headline", "card", "link", "drop")
_ITEM_KEYS = {"role", "title", "link", "summary", "image", "video", "source", "date"}

# An id's letters: no vowels (no words), no l (a 1): never a number, never a word.
_ID_LETTERS = "bcdfghjkmnpqrstvwxz"
ID_LENGTH = 3


def _code(key: str) -> str:
    number = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big")
    letters = []
    for _ in range(12):
        number, digit = divmod(number, len(_ID_LETTERS))
        letters.append(_ID_LETTERS[digit])
    return "".join(letters)


def short_ids(keys: Iterable[str]) -> dict[str, str]:
    """Each story key's id: the first ``ID_LENGTH`` letters of a hash of the key, longer only for
    the (rare) keys of the same draft that share them. The same story has the same id in every draft."""
    codes = {key: _code(key) for key in keys}
    ids = {}
    for key, code in codes.items():
        length = ID_LENGTH
        while any(other != key and c[:length] == code[:length] for other, c in codes.items()):
            length += 1
        ids[key] = code[:length]
    return ids


def looks_like_id(ref: str) -> bool:
    return bool(ref) and all(c in _ID_LETTERS for c in ref.strip().lower())


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the draft's table."""

    number: int  # its position (0 for a dropped item, which has none)
    role: str  # headline | card | link | extra (beyond max_links) | dropped
    key: str
    item: Item
    id: str = ""  # the item's stable reference (``short_ids``)
    place: str = ""  # as the table says it: headline, card 3, link, no room, dropped


@dataclass(slots=True)
class EditableDraft:
    """A period's stored draft, open for the editor's changes (``save_draft`` stores them)."""

    period: Period
    data: Draft
    settings: Settings

    @property
    def choices(self) -> Choices:
        return self.data.choices

    @property
    def issue(self) -> Issue:
        return issue_from_draft(self.settings, self.period, self.data)

    def rows(self) -> list[Row]:
        """The table: the issue's items in order (headline, cards, further links), then the links
        that do not fit (``extra``, still in the editor's order), then the dropped items."""
        main, linked = arrange(self.data)
        issue = self.issue
        shown = [("headline", issue.headline)] if issue.headline else []
        shown += [("card", i) for i in issue.cards] + [("link", i) for i in issue.links]
        placed = {story_key(item.link) for _, item in shown}
        # As issue_from_draft orders the further links, of which these are the ones past max_links.
        rank = {key: n for n, key in enumerate(self.choices.order)}
        extra = sorted(
            (e for e in main + linked if e.key not in placed), key=lambda e: rank.get(e.key, len(rank))
        )
        ids = short_ids(e.key for e in self.data.entries())
        rows: list[Row] = []
        cards = 0
        for role, item in shown:
            key = story_key(item.link)
            cards += role == "card"
            place = f"card {cards}" if role == "card" else role
            rows.append(Row(len(rows) + 1, role, key, item, ids.get(key, ""), place))
        rows += [
            Row(len(rows) + n, "extra", e.key, e.item, ids[e.key], "no room") for n, e in enumerate(extra, 1)
        ]
        rows += [Row(0, "dropped", e.key, e.item, ids[e.key], "dropped") for e in self._dropped()]
        return rows

    def _dropped(self) -> list[Candidate]:
        by_key = {e.key: e for e in self.data.entries()}
        return [by_key[k] for k in self.choices.drop if k in by_key]

    def row(self, key: str) -> Row:
        """The row of a story key, as the table shows it now."""
        return next(r for r in self.rows() if r.key == key)

    def resolve(self, ref: str, *, positions: bool = True) -> Row:
        """The row an id, a URL or (with ``positions``) a position in the current table refers to."""
        rows = self.rows()
        text = ref.strip()
        if text.isdigit():
            number = int(text)
            at = next((r for r in rows if r.number == number and number), None)
            if not positions:
                raise CollectError(
                    f"issue {self.period.key}: {text} is a position in the table, not an item: "
                    "positions change with every move, an item's id does not",
                    hint=f"name the item by its id or its URL (#{number} is now `{at.id}`: {at.item.title})"
                    if at
                    else "name the item by its id (the table's id column) or its URL",
                )
            if at is not None:
                return at
            raise CollectError(
                f"issue {self.period.key}: no item number {number} (the draft has {sum(1 for r in rows if r.number)})",
                hint="`newsletter draft show` lists the numbers",
            )
        if looks_like_id(text):
            wanted = text.lower()
            for row in rows:
                if row.id == wanted:
                    return row
            similar = [r.id for r in rows if r.id.startswith(wanted)]
            raise CollectError(
                f"issue {self.period.key}: no item with the id {text}"
                + (f" (did you mean {' or '.join(similar)}?)" if similar else ""),
                hint="`newsletter draft show` lists the items and their ids",
            )
        key = story_key(text)
        for row in rows:
            if row.key == key:
                return row
        raise CollectError(
            f"issue {self.period.key}: no item with the link {ref}",
            hint="`newsletter draft show` lists the items; `newsletter draft add URL` adds one",
        )

    # -- changes -------------------------------------------------------------------------

    def pin(self, ref: str) -> Row:
        row = self.resolve(ref)
        self._undrop(row.key)
        self.choices.headline = row.key
        self._place(row.key, "auto")
        return row

    def drop(self, ref: str) -> Row:
        row = self.resolve(ref)
        if row.key not in self.choices.drop:
            self.choices.drop.append(row.key)
        if self.choices.headline == row.key:
            self.choices.headline = None
        return row

    def restore(self, ref: str) -> Row:
        row = self.resolve(ref)
        if row.role != "dropped":
            raise CollectError(
                f"issue {self.period.key}: {row.id} is not dropped (it is #{row.number}, {row.place})",
                hint="`newsletter draft show` lists the dropped items last",
            )
        self._undrop(row.key)
        return row

    def move(self, ref: str, position: int) -> Row:
        """Put an item at ``position`` in the table: 1 makes it the headline; a card's or a link's
        place makes it a card or a further link."""
        row = self.resolve(ref)
        self._undrop(row.key)
        rows = [r for r in self.rows() if r.role != "dropped"]
        if position < 1:
            raise CollectError("a position counts from 1 (the headline)")
        target = rows[position - 1].role if position <= len(rows) else "link"
        order = [r.key for r in rows if r.key != row.key]
        order.insert(min(position - 1, len(order)), row.key)
        self.choices.order = order
        if target == "headline":
            self.choices.headline = row.key
            self._place(row.key, "auto")
            return row
        if self.choices.headline == row.key:
            self.choices.headline = None
        self._place(row.key, "auto" if target == "card" else "links")
        return row

    def add(self, item: Item, *, position: int | None = None, as_link: bool = False) -> Row:
        link = safe_url(item.link, "", allow_file=False)
        if not link:
            raise CollectError(f"cannot add {item.link!r}: only http(s) links can be added")
        title = clean_text(item.title)
        if not title:
            raise CollectError(f"cannot add {link}: it needs a title", hint="pass --title")
        key = story_key(link)
        if any(e.key == key for e in self.data.entries()):
            raise CollectError(
                f"issue {self.period.key}: {link} is already in the draft",
                hint="`newsletter draft move` or `restore` it instead",
            )
        self.choices.add.append(
            Candidate(key, _added_item(item, link, title), "links" if as_link else "auto")
        )
        if position is not None:
            return self.move(key, position)
        return self.resolve(key)

    def reset(self) -> None:
        self.data.choices = Choices()

    def _undrop(self, key: str) -> None:
        if key in self.choices.drop:
            self.choices.drop.remove(key)

    def _place(self, key: str, placement: str) -> None:
        original = next((e.placement for e in self.data.entries() if e.key == key), "auto")
        overrides = self.choices.placement
        if placement == original:
            overrides.pop(key, None)
        else:
            overrides[key] = placement

    # -- the draft as a file -------------------------------------------------------------

    def to_toml(self) -> str:
        lines = [
            f"# The draft of issue {self.period.key} ({self.period.start:%Y-%m-%d} to {self.period.end:%Y-%m-%d}).",
            "# Reorder the [[items]] blocks to reorder the issue. role: headline (one), card, link or drop.",
            '# Edit a title, summary, image or video flag; delete a block or set role = "drop" to drop it;',
            "# add a block with at least title and link to add a story. source and date are for reading only.",
            "",
        ]
        for row in self.rows():
            role = {"extra": "link", "dropped": "drop"}.get(row.role, row.role)
            item = row.item
            lines += [
                "[[items]]",
                f"role = {_toml_str(role)}",
                f"title = {_toml_str(item.title)}",
                f"link = {_toml_str(item.link)}",
                f"summary = {_toml_str(item.summary)}",
                f"image = {_toml_str(item.image)}",
                f"video = {'true' if item.is_video else 'false'}",
                f"source = {_toml_str(item.source)}",
                f"date = {_toml_str(item.published.isoformat() if item.published else '')}",
                "",
            ]
        return "\n".join(lines)

    def apply_toml(self, text: str, where: str) -> None:
        """Replace the editor's choices with what the file says; nothing changes when it is invalid."""
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise CollectError(
                f"{where}: not valid TOML: {exc}", hint="check the quoting near that line"
            ) from exc
        blocks = data.get("items", [])
        if not isinstance(blocks, list) or set(data) - {"items"}:
            raise CollectError(f"{where}: expected only [[items]] blocks")
        originals = {e.key: e for e in self.data.entries()}
        edited = EditableDraft(self.period, Draft(self.data.candidates, Choices()), self.settings)
        choices = edited.choices
        listed: list[str] = []
        for number, block in enumerate(blocks, start=1):
            key, role = _check_block(block, f"{where}: items[{number}]")
            if key in listed:
                raise CollectError(f"{where}: items[{number}]: {block['link']} is listed twice")
            listed.append(key)
            original = originals.get(key)
            image = str(block.get("image", ""))
            if image and not _edited_image(image, original.item if original else None):
                raise CollectError(f"{where}: items[{number}]: image must be an http(s) URL, not {image!r}")
            if original is None:
                item = Item(
                    title=str(block.get("title", "")),
                    link=str(block["link"]),
                    summary=clean_text(str(block.get("summary", ""))),
                    image=safe_url(str(block.get("image", "")), "", allow_file=False),
                    is_video=bool(block.get("video", False)),
                    source="editor",
                )
                edited.add(item)
            else:
                if original in self.choices.add:
                    choices.add.append(original)
                _record_edits(choices, key, original.item, block)
            if role == "drop":
                choices.drop.append(key)
                continue
            if role == "headline":
                if choices.headline:
                    raise CollectError(f"{where}: items[{number}]: only one item can be the headline")
                choices.headline = key
            edited._place(key, "links" if role == "link" else "auto")
        choices.drop.extend(c.key for c in self.data.candidates if c.key not in listed)
        choices.order = [k for k in listed if k not in choices.drop]
        self.data.choices = choices


def dropped_everything(draft: Draft) -> int:
    """How many items the draft has when the editor dropped every one of them; else 0 (a draft with
    items left, or with none to begin with: nothing new)."""
    entries = draft.entries()
    dropped = set(draft.choices.drop)
    return len(entries) if entries and all(e.key in dropped for e in entries) else 0


def emptied_note(draft: Draft, period_key: str) -> str:
    """What to say of an issue the editor emptied by dropping every item ("" when they did not):
    for `collect`, `draft`, and `send`, which would otherwise say there was nothing new."""
    n = dropped_everything(draft)
    if not n:
        return ""
    which = f"all {n} items" if n > 1 else "the only item"
    return (
        f"the editor dropped {which} of issue {period_key}: it is empty on purpose, and nothing "
        "will be sent (`newsletter draft restore ID` brings one back, `newsletter draft reset` all)"
    )


class Unchanged(Exception):
    """An edited draft file that changes nothing: empty, or not UTF-8 text."""


def edited_text(data: bytes, where: str) -> str:
    """The text of an edited draft file (UTF-8, a BOM allowed).

    Unchanged when the file is empty (a save gone wrong, not a choice: to drop every item, set their
    role to "drop" or delete the blocks and keep a comment) or not UTF-8 text, which the editor
    cannot have meant either."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise Unchanged(
            f"{where} is not UTF-8 text (line {line} has the byte 0x{data[exc.start]:02x})"
        ) from exc
    if not text.strip():
        raise Unchanged(f"{where} is empty")
    return text.replace("\r\n", "\n")


def _check_block(block: Any, where: str) -> tuple[str, str]:
    if not isinstance(block, dict):
        raise CollectError(f"{where}: expected a table")
    unknown = set(block) - _ITEM_KEYS
    if unknown:
        raise CollectError(
            f"{where}: unknown key {sorted(unknown)[0]}", hint=f"keys are {', '.join(sorted(_ITEM_KEYS))}"
        )
    role = str(block.get("role", "card"))
    if role not in ROLES:
        raise CollectError(f"{where}: role must be one of {', '.join(ROLES)}, not {role!r}")
    link = safe_url(str(block.get("link", "")), "", allow_file=False)
    if not link:
        raise CollectError(f"{where}: needs an http(s) link")
    if not clean_text(str(block.get("title", ""))):
        raise CollectError(f"{where}: needs a title")
    return story_key(link), role


def _record_edits(choices: Choices, key: str, original: Item, block: dict[str, Any]) -> None:
    values = {
        "title": clean_text(str(block.get("title", original.title))),
        "summary": clean_text(str(block.get("summary", original.summary))),
        "image": _edited_image(str(block.get("image", original.image)), original),
        "is_video": bool(block.get("video", original.is_video)),
    }
    changed = {k: v for k, v in values.items() if k in EDITABLE and v != getattr(original, k)}
    if changed:
        choices.edits[key] = changed


def _edited_image(image: str, original: Item | None) -> str:
    """An http(s) image; a local file only when it is the one the (local) feed gave."""
    if image and original is not None and image == original.image:
        return image
    return safe_url(image, "", allow_file=False)


def _added_item(item: Item, link: str, title: str) -> Item:
    return replace(
        item,
        link=link,
        title=title,
        summary=clean_text(item.summary),
        image=safe_url(item.image, "", allow_file=False),
        source=item.source or "editor",
    )


def _toml_str(value: str) -> str:
    # A JSON string is a TOML basic string, once DEL (which TOML forbids raw) is escaped.
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


def load_draft(
    settings: Settings, engine: Engine, period_key: str, *, frozen_ok: bool = False
) -> EditableDraft:
    """The period's stored draft; CollectError when there is none, or it is frozen and not ``frozen_ok``."""
    row = store.issues.get(engine, period_key)
    if row is None:
        raise CollectError(
            f"issue {period_key} has no draft yet",
            hint="run `newsletter collect` (with the same --as-of) first",
        )
    if row.state != IssueState.DRAFT and not frozen_ok:
        raise CollectError(
            f"issue {period_key} is {row.state}; its draft can no longer change",
            hint="a sent issue is what subscribers received",
        )
    return EditableDraft(period_of(row, settings.zone), row.draft, settings)


def save_draft(engine: Engine, draft: EditableDraft) -> None:
    """Store the changed draft; CollectError when sending began meanwhile (the draft is then frozen)."""
    store.issues.save_draft(engine, draft.period.key, draft.period.start, draft.period.end, draft.data)
    row = store.issues.get(engine, draft.period.key)
    if row is None or row.state != IssueState.DRAFT:
        raise CollectError(f"issue {draft.period.key} started sending; the change was not saved")
