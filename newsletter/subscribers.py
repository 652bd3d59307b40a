"""The subscriber list: CSV in and out, validation, and the suppression list.

A CSV is ours (``email,name,extra...``), Mailchimp's export ("Email Address", "First Name",
"Last Name") or listmonk's (``email,name,attributes`` with the attributes as JSON); headers in any
case, UTF-8 with or without a BOM, comma, semicolon or tab. Every bad row is reported with its line
number and kept out; the good rows are kept. An address that unsubscribed or bounced is never made
active again by an import: only ``add_subscriber(..., resubscribe=True)`` or the subscriber's own
click on the web page does that.

Unsubscribe tokens live here too: they are how a subscriber leaves the list.
"""

from __future__ import annotations

import base64
import binascii
import csv
import functools
import hashlib
import hmac
import io
import json
import re
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import Engine

from newsletter import store
from newsletter.config import Settings
from newsletter.errors import SubscriberError
from newsletter.models import FeedbackKind, Subscriber, SubscriberStatus

EMAIL_COLUMNS = ("email", "email address", "e-mail", "e-mail address", "mail")
NAME_COLUMNS = ("name", "full name")
FIRST_COLUMNS = ("first name", "firstname", "fname")
LAST_COLUMNS = ("last name", "lastname", "lname")
# Columns that describe the row rather than the person: never template fields.
STATUS_COLUMN = "status"
META_COLUMNS = frozenset(
    {
        "status",
        "changed_at",
        "cause",
        "attributes",
        # listmonk
        "uuid",
        "created_at",
        "updated_at",
        # Mailchimp
        "member_rating",
        "optin_time",
        "optin_ip",
        "confirm_time",
        "confirm_ip",
        "latitude",
        "longitude",
        "gmtoff",
        "dstoff",
        "timezone",
        "cc",
        "region",
        "last_changed",
        "leid",
        "euid",
        "notes",
        "tags",
        "unsub_time",
        "unsub_campaign_title",
        "unsub_campaign_id",
        "unsub_reason",
        "unsub_reason_other",
        "clean_time",
        "clean_campaign_title",
        "clean_campaign_id",
    }
)
# A row whose status says the person left (ours, listmonk's "blocklisted", Mailchimp's "cleaned")
# is recorded as suppressed, never as active. Mailchimp's unsubscribed and cleaned exports carry
# no status column but an UNSUB_TIME or CLEAN_TIME one.
LEFT_STATUSES = {
    "unsubscribed": "unsubscribed",
    "blocklisted": "unsubscribed",
    "blacklisted": "unsubscribed",
    "bounced": "bounced",
    "cleaned": "bounced",
}
DELIMITERS = ",;\t"


@dataclass(slots=True)
class CsvReport:
    """What reading a CSV found: the good rows, and a line-numbered problem for each bad one.

    ``suppressed`` maps an address the file itself marks as gone (a status column saying
    unsubscribed, bounced, blocklisted or cleaned) to that status; such rows are not in ``subscribers``.
    """

    subscribers: list[Subscriber] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    suppressed: dict[str, str] = field(default_factory=dict)


def normalise_email(value: str) -> str:
    """Validate syntax (no DNS) and return the address in lower case; raise ValueError with the reason."""
    value = value.strip()
    if not value:
        raise ValueError("no email address")
    try:
        result = validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from None
    return result.normalized.lower()


def read_csv(path: Path) -> CsvReport:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SubscriberError(
            f"{path}: no such subscribers file",
            hint="check [subscribers] csv in the config, or copy subscribers.example.csv",
        ) from None
    except OSError as exc:
        raise SubscriberError(f"{path}: cannot read: {exc.strerror}") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise SubscriberError(
            f"{path}: line {line}: not UTF-8 (byte {exc.start})",
            hint="save the file as UTF-8 CSV (in a spreadsheet: 'CSV UTF-8')",
        ) from exc
    return parse_csv(text, str(path))


def sniff_delimiter(header_line: str) -> str:
    """The delimiter of a CSV, judged by its header line: the most frequent of , ; and tab outside quotes."""
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    for char in header_line:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    best = max(DELIMITERS, key=lambda d: counts[d])  # ties go to the comma, listed first
    return best if counts[best] else ","


def parse_csv(text: str, name: str) -> CsvReport:
    """Parse a subscribers CSV: ours, Mailchimp's or listmonk's export; comma, semicolon or tab."""
    report = CsvReport()
    text = text.removeprefix("\ufeff")
    if not text.strip():
        report.problems.append(f"{name}: the file is empty")
        return report
    first_line = next(line for line in text.splitlines() if line.strip())
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sniff_delimiter(first_line), strict=False)
    header: list[str] = []
    while not header:
        header = [h.strip().lower() for h in next(reader)]
        if not any(header):
            header = []
    header_line = reader.line_num
    email_col = next((i for i, h in enumerate(header) if h in EMAIL_COLUMNS), None)
    if email_col is None:
        raise SubscriberError(
            f"{name}: line {header_line}: no email column in the header {header}",
            hint="the first line must name the columns, one of them 'email' (or Mailchimp's 'Email Address')",
        )
    seen: dict[str, tuple[int, Subscriber]] = {}
    end = header_line
    try:
        for row in reader:
            line, end = end + 1, reader.line_num  # a quoted cell may span lines: report where the row starts
            if not any(cell.strip() for cell in row):
                continue
            _read_row(report, seen, name, line, header, email_col, row)
    except csv.Error as exc:
        report.problems.append(f"{name}: line {reader.line_num}: {exc}; the rest of the file was not read")
    report.subscribers = [sub for _line, sub in seen.values()]
    return report


def _read_row(
    report: CsvReport,
    seen: dict[str, tuple[int, Subscriber]],
    name: str,
    line: int,
    header: list[str],
    email_col: int,
    row: list[str],
) -> None:
    cells = {h: _unquote(row[i].strip() if i < len(row) else "") for i, h in enumerate(header) if h}
    shown = _unquote(row[email_col].strip()) if email_col < len(row) else ""
    try:
        email = normalise_email(shown)
    except ValueError as exc:
        report.problems.append(f"{name}: line {line}: {shown!r}: {exc}")
        return
    subscriber, note = _subscriber(email, cells, header[email_col])
    if note:
        report.notes.append(f"{name}: line {line}: {note}")
    left = _left_status(cells)
    if left:
        report.suppressed[email] = left
        seen.pop(email, None)
        return
    if email in report.suppressed:
        return
    if email in seen:
        first, earlier = seen[email]
        seen[email] = (first, _merge(earlier, subscriber))
        report.notes.append(f"{name}: line {line}: {email} repeats line {first}; merged into it")
        return
    seen[email] = (line, subscriber)


def _unquote(cell: str) -> str:
    """Undo ``safe_cell``: our own export read back gives the values it was made from."""
    return cell[1:] if cell.startswith("'") and cell[1:2] and cell[1] in "=+-@\t\r" else cell


def _left_status(cells: dict[str, str]) -> str:
    status = LEFT_STATUSES.get(cells.get(STATUS_COLUMN, "").lower(), "")
    if not status and cells.get("unsub_time"):
        status = "unsubscribed"
    if not status and cells.get("clean_time"):
        status = "bounced"
    return status


def _merge(first: Subscriber, later: Subscriber) -> Subscriber:
    """A repeated address: the first row's values win, the later row fills what the first left empty."""
    fields = {**later.fields, **{k: v for k, v in first.fields.items() if v}}
    return Subscriber(email=first.email, name=first.name or later.name, fields=fields)


def _subscriber(email: str, cells: dict[str, str], email_header: str) -> tuple[Subscriber, str]:
    name = next((cells[c] for c in NAME_COLUMNS if cells.get(c)), "")
    first = next((cells[c] for c in FIRST_COLUMNS if cells.get(c)), "")
    last = next((cells[c] for c in LAST_COLUMNS if cells.get(c)), "")
    if not name:
        name = " ".join(p for p in (first, last) if p)
    used = {email_header, *NAME_COLUMNS, *META_COLUMNS}
    fields = {k: v for k, v in cells.items() if k not in used and v}
    attributes, note = _attributes(cells.get("attributes", ""))
    fields.update(attributes)
    return Subscriber(email=email, name=name, fields=fields), note


def _attributes(raw: str) -> tuple[dict[str, str], str]:
    """listmonk's attributes column: a JSON object whose values become template fields."""
    if not raw.strip():
        return {}, ""
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        return {}, f"attributes are not valid JSON ({exc.msg}); ignored"
    if not isinstance(data, dict):
        return {}, "attributes are not a JSON object; ignored"
    return {str(k): _field_text(v) for k, v in data.items() if v is not None}, ""


def _field_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def sync(
    engine: Engine, report: CsvReport, *, remove_missing: bool, source: str = "import"
) -> dict[str, int]:
    """Bring the list in line with a CSV: add new rows, update names; never re-activate a suppressed address.

    With ``remove_missing``, active subscribers absent from the CSV stop receiving mail (status
    removed); a CSV without one good row is refused rather than stopping mail to everyone.
    """
    wanted = {s.email: s for s in report.subscribers}
    try:
        return store.subscribers.sync(
            engine, wanted, report.suppressed, remove_missing=remove_missing, source=source
        )
    except store.subscribers.WouldRemoveEveryone as exc:
        # An emptied or cut-short file would otherwise stop mail to everyone, silently.
        first = (report.problems or ["the CSV has no good rows"])[0]
        raise SubscriberError(
            f"{first}; refusing to stop mail to all {exc.active} active subscribers",
            hint=(
                'fix the CSV (`newsletter subscribers check FILE`), or set [subscribers] csv = "" '
                "to keep the list with `newsletter subscribers` commands only"
            ),
        ) from None


def unsubscribe_address(settings: Settings, engine: Engine, email: str, cause: str) -> bool:
    """Put an address on the suppression list, in the database and in the journal beside the config
    (which outlives a restore of an older database); True when the database changed. The unsubscribe
    counts against the last issue sent to the address (`newsletter report`)."""
    changed = store.subscribers.unsubscribe(engine, email, cause)
    store.journal.Journal(settings.journal_path).add([email])
    if changed:
        row = store.subscribers.get(engine, email)
        if row is not None:
            issue = store.feedback.last_issue_sent_to(engine, row.id)
            target = store.feedback.Target(row.id, issue, row.email)
            store.feedback.take(
                engine, target, FeedbackKind.UNSUBSCRIBE, diagnostic=cause, via="link", ref=None
            )
    return changed


def resubscribe_address(settings: Settings, engine: Engine, email: str, cause: str) -> bool:
    """Make an unsubscribed address active again, with the person's consent; lifts its journal line."""
    changed = store.subscribers.resubscribe(engine, email, cause)
    if changed:
        store.journal.Journal(settings.journal_path).allow([email])
    return changed


def refuse_when_mirrored(settings: Settings, way: str) -> None:
    """With [subscribers] mirror on, the CSV is the whole list: an address added another way would
    stop receiving mail at the next send, so it is refused now rather than dropped then."""
    if settings.subscribers.mirror and settings.subscribers.csv:
        raise SubscriberError(
            f"{way} refused: the list mirrors {settings.path(settings.subscribers.csv)} "
            "([subscribers] mirror = true), so an address added another way would be dropped at the next send",
            hint="add the address to that file instead, or set [subscribers] mirror = false",
        )


# --- unsubscribe tokens -------------------------------------------------------------------


def b64url(data: bytes) -> str:
    """base64url without padding: the form every token in a link takes."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signed(secret: str, purpose: str, list_id: str, email: str) -> str:
    message = f"{purpose}{list_id}\0{email.lower()}".encode()
    mac = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return f"{b64url(email.lower().encode())}.{b64url(mac)}"


def _verified(secret: str, purpose: str, list_id: str, token: str) -> str | None:
    try:
        encoded, _mac = token.split(".", 1)
        email = unb64url(encoded).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    expected = _signed(secret, purpose, list_id, email)
    return email if hmac.compare_digest(expected.encode(), token.encode("utf-8", "replace")) else None


@functools.lru_cache(maxsize=8)
# --- the envelope sender ------------------------------------------------------------------


def _verp_key(secret: str, list_id: str) -> bytes:
    return hmac.new(secret.encode(), f"newsletter verp key\0{list_id}".encode(), hashlib.sha256).digest()


def verp_token(secret: str, list_id: str, delivery_id: int) -> str:
    """The ledger row's id and 8 bytes of its MAC, encrypted as one AES block: opaque, unforgeable,
    and 26 base32 characters, so the whole local part stays under 64 and survives a server that
    lower-cases it. One block of AES is a keyed permutation; no mode or nonce is needed."""
    plain = struct.pack(">Q", delivery_id)
    plain += hmac.new(_verp_key(secret, list_id), b"mac" + plain, hashlib.sha256).digest()[:8]
    encryptor = Cipher(algorithms.AES(_verp_key(secret, list_id)), modes.ECB()).encryptor()
    return base64.b32encode(encryptor.update(plain) + encryptor.finalize()).decode().rstrip("=").lower()


def read_verp_token(secret: str, list_id: str, token: str) -> int | None:
    """The ledger row id a token names; None for a forged or altered one."""
    try:
        raw = base64.b32decode(token.upper() + "======")
    except (ValueError, binascii.Error):
        return None
    if len(raw) != 16:
        return None
    decryptor = Cipher(algorithms.AES(_verp_key(secret, list_id)), modes.ECB()).decryptor()
    plain = decryptor.update(raw) + decryptor.finalize()
    mac = hmac.new(_verp_key(secret, list_id), b"mac" + plain[:8], hashlib.sha256).digest()[:8]
    if not hmac.compare_digest(mac, plain[8:]):
        return None
    return int(struct.unpack(">Q", plain[:8])[0])


def verp_address(return_path: str, token: str) -> str:
    local, _, domain = return_path.rpartition("@")
    return f"{local}+{token}@{domain}"


def verp_pattern(return_path: str) -> re.Pattern[str]:
    """Finds the token in any address made from ``return_path`` (case-insensitively)."""
    local, _, domain = return_path.rpartition("@")
    return re.compile(rf"{re.escape(local)}\+([a-z2-7]{{26}})@{re.escape(domain)}", re.IGNORECASE)


@functools.lru_cache(maxsize=8)
def _cipher(secret: str) -> AESGCM:
    """One per secret: deriving the key and building the cipher took a third of a token's time."""
    return AESGCM(hmac.digest(secret.encode(), b"newsletter link key v2", "sha256"))


def _sealed(secret: str, purpose: str, list_id: str, email: str) -> str:
    """The address encrypted and authenticated (AES-256-GCM, keys derived from the secret): a link
    that names nobody to whoever sees it (a forwarded issue, a proxy log), verifiable without the
    database. No "." in it, unlike the first release's links, which stay valid."""
    # The nonce is a MAC of what is sealed (a synthetic IV): the same address gets the same link, and
    # a nonce repeats only with its plaintext, which then reveals nothing new.
    aad, plain = f"{purpose}{list_id}".encode(), email.lower().encode()
    nonce = hmac.digest(secret.encode(), b"nonce\0" + aad + b"\0" + plain, "sha256")[:12]
    return b64url(nonce + _cipher(secret).encrypt(nonce, plain, aad))


def _opened(secret: str, purpose: str, list_id: str, token: str) -> str | None:
    if "." in token:  # a link from an issue sent by the first release: the address in base64, signed
        return _verified(secret, purpose, list_id, token)
    try:
        data = unb64url(token)
        email = _cipher(secret).decrypt(data[:12], data[12:], f"{purpose}{list_id}".encode())
        return email.decode("utf-8")
    except (ValueError, InvalidTag, UnicodeDecodeError):
        return None


def unsubscribe_token(secret: str, list_id: str, email: str) -> str:
    """An opaque token for the unsubscribe link: the address sealed for this list (see ``_sealed``)."""
    return _sealed(secret, "", list_id, email)


def verify_unsubscribe_token(secret: str, list_id: str, token: str) -> str | None:
    """The email address the token was made for, or None when it is forged, altered or truncated."""
    return _opened(secret, "", list_id, token)


def resubscribe_token(secret: str, list_id: str, email: str) -> str:
    """Like the unsubscribe token, sealed for another purpose: one cannot stand for the other."""
    return _sealed(secret, "resubscribe\0", list_id, email)


def verify_resubscribe_token(secret: str, list_id: str, token: str) -> str | None:
    return _opened(secret, "resubscribe\0", list_id, token)


# --- one address at a time, and export ----------------------------------------------------


def add_subscriber(engine: Engine, email: str, name: str = "", *, resubscribe: bool = False) -> str:
    """Add or update one address; a suppressed address comes back only with ``resubscribe``.

    Returns what happened: added, updated or reactivated.
    """
    try:
        email = normalise_email(email)
    except ValueError as exc:
        raise SubscriberError(f"{email!r}: {exc}", hint="give one address, e.g. ada@example.org") from None
    what, row = store.subscribers.add(engine, email, name, "added by the operator", resubscribe=resubscribe)
    if what == "forgotten":
        raise SubscriberError(
            f"{email} was erased at their request (`subscribers forget`); not added",
            hint="only if they ask to subscribe again, through the signup form",
        )
    if what == "suppressed" and row is not None:
        raise SubscriberError(
            f"{email} is {row.status} ({row.cause}); not re-added",
            hint="only with their consent: `newsletter subscribers add --resubscribe`",
        )
    return what


def remove_subscriber(engine: Engine, email: str, cause: str = "removed by the operator") -> str:
    """Unsubscribe one address; one the store does not know joins the suppression list, so no import adds it.

    Returns what happened: unsubscribed, already unsubscribed, or suppressed (it was not on the list).
    """
    try:
        email = normalise_email(email)
    except ValueError as exc:
        raise SubscriberError(f"{email!r}: {exc}", hint="give one address, e.g. ada@example.org") from None
    row = store.subscribers.get(engine, email)
    if row is not None and row.status == SubscriberStatus.UNSUBSCRIBED:
        return "already unsubscribed"
    store.subscribers.unsubscribe(engine, email, cause)
    return "unsubscribed" if row is not None else "suppressed"


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: str) -> str:
    """Neutralise a cell a spreadsheet would run as a formula (OWASP's advice: a leading quote)."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def export_csv(engine: Engine, out: IO[str], status: str | None = None) -> int:
    """Write the list as CSV (our import format plus status, changed_at and cause); return the row count."""
    rows = list(store.subscribers.iterate(engine, status=status))
    reserved = {"email", "name", "status", "changed_at", "cause"}
    extra = sorted({k for r in rows for k in r.fields} - reserved)
    writer = csv.writer(out)
    writer.writerow(["email", "name", *extra, "status", "changed_at", "cause"])
    for r in rows:
        writer.writerow(
            [
                safe_cell(v)
                for v in (
                    r.email,
                    r.name,
                    *(r.fields.get(k, "") for k in extra),
                    r.status,
                    r.changed_at.isoformat(),
                    r.cause,
                )
            ]
        )
    return len(rows)
