"""The subscriber list: CSV in and out, validation, and the suppression list.

Unsubscribe tokens live here too: they are how a subscriber leaves the list.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import hmac
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import Engine, insert, select, update

from newsletter import store
from newsletter.errors import SubscriberError
from newsletter.models import Subscriber

EMAIL_COLUMNS = ("email", "email address", "e-mail", "e-mail address", "mail")
NAME_COLUMNS = ("name", "full name")
FIRST_COLUMNS = ("first name", "firstname", "fname")
LAST_COLUMNS = ("last name", "lastname", "lname")


@dataclass(slots=True)
class CsvReport:
    """What reading a CSV found: the good rows, and a line-numbered problem for each bad one."""

    subscribers: list[Subscriber] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def normalise_email(value: str) -> str:
    """Validate syntax (no DNS) and return the address in lower case; raise ValueError with the reason."""
    try:
        result = validate_email(value.strip(), check_deliverability=False)
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
        raise SubscriberError(
            f"{path}: not UTF-8 (byte {exc.start})", hint="save the file as UTF-8 CSV"
        ) from exc
    return parse_csv(text, str(path))


def parse_csv(text: str, name: str) -> CsvReport:
    """Parse a subscribers CSV: ours, Mailchimp's or listmonk's export; comma or semicolon."""
    report = CsvReport()
    if not text.strip():
        return report
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel  # type: ignore[assignment]
    reader = csv.reader(io.StringIO(text), dialect)
    header = [h.strip().lower() for h in next(reader)]
    email_col = next((i for i, h in enumerate(header) if h in EMAIL_COLUMNS), None)
    if email_col is None:
        raise SubscriberError(
            f"{name}: line 1: no email column in the header {header}",
            hint="the first line must name the columns, one of them 'email'",
        )
    seen: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        cells = {h: (row[i].strip() if i < len(row) else "") for i, h in enumerate(header)}
        try:
            email = normalise_email(row[email_col] if email_col < len(row) else "")
        except ValueError as exc:
            shown = row[email_col] if email_col < len(row) else ""
            report.problems.append(f"{name}: line {line}: {shown!r}: {exc}")
            continue
        if email in seen:
            report.notes.append(f"{name}: line {line}: {email} repeats line {seen[email]}; merged")
            continue
        seen[email] = line
        report.subscribers.append(_subscriber(email, cells, header[email_col]))
    return report


def _subscriber(email: str, cells: dict[str, str], email_header: str) -> Subscriber:
    name = next((cells[c] for c in NAME_COLUMNS if cells.get(c)), "")
    first = next((cells[c] for c in FIRST_COLUMNS if cells.get(c)), "")
    last = next((cells[c] for c in LAST_COLUMNS if cells.get(c)), "")
    if not name:
        name = " ".join(p for p in (first, last) if p)
    used = {email_header, *NAME_COLUMNS}
    fields = {k: v for k, v in cells.items() if k not in used and k != "attributes" and v}
    if cells.get("attributes", "").startswith("{"):
        try:
            attributes = json.loads(cells["attributes"])
            fields.update({k: str(v) for k, v in attributes.items() if isinstance(v, str | int | float)})
        except (json.JSONDecodeError, AttributeError):
            pass
    return Subscriber(email=email, name=name, fields=fields)


def sync(engine: Engine, report: CsvReport, *, remove_missing: bool) -> dict[str, int]:
    """Bring the store in line with a CSV: add new rows, update names; never re-activate a suppressed address.

    With ``remove_missing``, active subscribers absent from the CSV stop receiving mail (status removed).
    """
    counts = {"added": 0, "updated": 0, "suppressed": 0, "removed": 0, "reactivated": 0}
    wanted = {s.email: s for s in report.subscribers}
    table = store.subscribers
    with engine.begin() as conn:
        existing = {row.email: row for row in conn.execute(select(table))}
        for email, sub in wanted.items():
            row = existing.get(email)
            fields = json.dumps(sub.fields, ensure_ascii=False, sort_keys=True)
            if row is None:
                conn.execute(
                    insert(table).values(
                        email=email,
                        name=sub.name,
                        fields=fields,
                        status="active",
                        changed_at=store.now(),
                        cause="import",
                    )
                )
                counts["added"] += 1
            elif row.status in ("unsubscribed", "bounced"):
                counts["suppressed"] += 1
            elif row.name != sub.name or row.fields != fields or row.status == "removed":
                status = "active"
                conn.execute(
                    update(table)
                    .where(table.c.id == row.id)
                    .values(name=sub.name, fields=fields, status=status)
                )
                counts["reactivated" if row.status == "removed" else "updated"] += 1
        if remove_missing:
            gone = [
                row.id for email, row in existing.items() if email not in wanted and row.status == "active"
            ]
            for chunk in range(0, len(gone), 500):
                conn.execute(
                    update(table)
                    .where(table.c.id.in_(gone[chunk : chunk + 500]))
                    .values(status="removed", cause="not in the CSV", changed_at=store.now())
                )
            counts["removed"] = len(gone)
    return counts


def active_subscribers(engine: Engine) -> Iterator[store.SubscriberRow]:
    return store.iter_subscribers(engine, status="active")


# --- unsubscribe tokens -------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def unsubscribe_token(secret: str, list_id: str, email: str) -> str:
    """``<email, base64url>.<HMAC-SHA256 over list and email>``: verifiable without a database lookup."""
    mac = hmac.new(secret.encode(), f"{list_id}\0{email.lower()}".encode(), hashlib.sha256).digest()
    return f"{_b64(email.lower().encode())}.{_b64(mac)}"


def verify_unsubscribe_token(secret: str, list_id: str, token: str) -> str | None:
    """The email address the token was made for, or None when it is forged, altered or truncated."""
    try:
        encoded, _mac = token.split(".", 1)
        email = _unb64(encoded).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    expected = unsubscribe_token(secret, list_id, email)
    return email if hmac.compare_digest(expected.encode(), token.encode()) else None


# --- one address at a time, and export ----------------------------------------------------


def add_subscriber(engine: Engine, email: str, name: str = "", *, resubscribe: bool = False) -> str:
    """Add or update one address; a suppressed address comes back only with ``resubscribe``."""
    try:
        email = normalise_email(email)
    except ValueError as exc:
        raise SubscriberError(f"{email!r}: {exc}") from None
    row = store.get_subscriber(engine, email)
    table = store.subscribers
    with engine.begin() as conn:
        if row is None:
            conn.execute(
                insert(table).values(
                    email=email,
                    name=name,
                    fields="{}",
                    status="active",
                    changed_at=store.now(),
                    cause="added",
                )
            )
            return "added"
        if row.status in ("unsubscribed", "bounced") and not resubscribe:
            raise SubscriberError(
                f"{email} is {row.status} ({row.cause}); not re-added",
                hint="only with their consent: `newsletter subscribers add --resubscribe`",
            )
        values = {
            "status": "active",
            "changed_at": store.now(),
            "cause": "resubscribed" if resubscribe else "added",
        }
        if name:
            values["name"] = name
        conn.execute(update(table).where(table.c.id == row.id).values(**values))
    return "updated" if row.status == "active" else "reactivated"


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: str) -> str:
    """Neutralise a cell a spreadsheet would run as a formula."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def export_csv(engine: Engine, out: IO[str], status: str | None = None) -> int:
    rows = list(store.iter_subscribers(engine, status=status))
    extra = sorted({k for r in rows for k in r.fields})
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
