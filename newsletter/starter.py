"""The files `newsletter init` writes: the documented example config and subscriber list.

They are the top-level newsletter.example.toml and subscribers.example.csv, shipped in the wheel.
"""

from __future__ import annotations

from pathlib import Path

import newsletter
from newsletter.errors import NewsletterError


def starter_file(name: str) -> str:
    here = Path(newsletter.__file__).parent
    for candidate in (here / "starter_files" / name, here.parent / name):
        if candidate.is_file():
            return candidate.read_text(encoding="utf-8")
    raise NewsletterError(f"{name} is missing from this installation", hint="reinstall newsletter")
