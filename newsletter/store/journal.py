"""The suppression list, kept a second time outside the database, so that restoring an older backup
never mails someone who left after it was taken (the law and Gmail's sender rules allow no exception).

A file beside the config (``.newsletter-suppressions``) holds one keyed hash per address that
unsubscribed, bounced or complained, and a ``forget`` line per address erased on request: no
address in clear. `serve` and the `subscribers` commands add to it as they suppress; each send adds
every suppression the database holds, then suppresses any active subscriber the file names and
erases again anyone forgotten after the database was saved (the database may be an older copy).
Appends are single small writes to a file opened in append mode, so concurrent writers interleave
whole lines.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy import Engine, select, update

from newsletter.models import SUPPRESSED, SubscriberStatus
from newsletter.store.database import now
from newsletter.store.schema import subscribers
from newsletter.store.subscribers import forget

FILE = ".newsletter-suppressions"
_HEADER = "# newsletter suppressions: one keyed SHA-256 a line; the key is below. Never delete this file.\n"


class Journal:
    def __init__(self, path: Path) -> None:
        self.path = path

    def _key(self) -> str:
        if not self.path.exists():
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(_HEADER + f"key {secrets.token_hex(32)}\n")
        with self.path.open(encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("key "):
                    return line.split()[1]
        raise ValueError(f"{self.path}: no key line")

    def digest(self, key: str, email: str) -> str:
        return hmac.new(key.encode(), email.strip().lower().encode(), hashlib.sha256).hexdigest()

    def add(self, emails: Iterable[str]) -> None:
        """Remember these addresses as suppressed (those already suppressed are not written again)."""
        key = self._key()
        self._write({self.digest(key, e) for e in emails} - self.hashes())

    def _write(self, digests: set[str]) -> None:
        self._write_lines(sorted(digests))

    def forget(self, emails: Iterable[str]) -> None:
        """These addresses were erased on request: a restored older database must erase them again."""
        key = self._key()
        digests = {self.digest(key, e) for e in emails}
        self._write(digests - self.hashes())
        self._write_lines(f"forget {h}" for h in sorted(digests - self.forgotten()))

    def _write_lines(self, lines: Iterable[str]) -> None:
        text = "".join(f"{line}\n" for line in lines)
        if text:
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(text)

    def allow(self, emails: Iterable[str]) -> None:
        """These addresses came back with their consent (resubscribed, confirmed a signup)."""
        key = self._key()
        lines = {self.digest(key, e) for e in emails} & self.hashes()
        self._write_lines(f"ok {h}" for h in sorted(lines))

    def hashes(self) -> set[str]:
        """The addresses suppressed, as the file's lines say in order (a later "ok" lifts one)."""
        return self._read()[0]

    def forgotten(self) -> set[str]:
        """The addresses erased on request (no "ok" lifts these)."""
        return self._read()[1]

    def _read(self) -> tuple[set[str], set[str]]:
        suppressed: set[str] = set()
        erased: set[str] = set()
        if not self.path.exists():
            return suppressed, erased
        with self.path.open(encoding="utf-8") as handle:
            for line in handle:
                word = line.split()
                if len(word) == 1 and len(word[0]) == 64:
                    suppressed.add(word[0])
                elif len(word) == 2 and word[0] == "ok":
                    suppressed.discard(word[1])
                elif len(word) == 2 and word[0] == "forget":
                    erased.add(word[1])
        return suppressed, erased

    def reconcile(self, engine: Engine, batch: int = 5000) -> int:
        """Add the database's suppressions to the file; suppress every active subscriber the file
        names and erase again every subscriber it says was forgotten. Returns how many subscribers
        were suppressed or erased (a restored older database). Reads the list in batches: a million
        subscribers are never held at once."""
        key = self._key()
        known, erased = self._read()
        left: set[str] = set()
        back: list[int] = []
        again: list[str] = []
        last = 0
        s = subscribers
        while True:
            with engine.connect() as conn:
                rows = conn.execute(
                    select(s.c.id, s.c.email, s.c.status).where(s.c.id > last).order_by(s.c.id).limit(batch)
                ).all()
            if not rows:
                break
            last = rows[-1].id
            for row in rows:
                digest = self.digest(key, row.email)
                if digest in erased:
                    again.append(row.email)
                elif row.status in SUPPRESSED:
                    left.add(digest)
                elif digest in known:
                    back.append(row.id)
        self._write(left - known)
        for start in range(0, len(back), 500):
            with engine.begin() as conn:
                conn.execute(
                    update(s)
                    .where(s.c.id.in_(back[start : start + 500]))
                    .values(
                        status=SubscriberStatus.UNSUBSCRIBED,
                        cause="left before the database was restored (suppression journal)",
                        changed_at=now(),
                    )
                )
        for email in again:
            forget(engine, email)
        return len(back) + len(again)
