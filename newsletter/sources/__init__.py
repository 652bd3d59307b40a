"""Sources turn bytes into Items: RSS/Atom feeds and hand-written items files.

``read_sources`` fetches every configured source concurrently and reports, per source, either
its items or the ``SourceError`` that says why it could not be read.
"""

from __future__ import annotations

from newsletter.sources.base import SourceResult, read_sources

__all__ = ["SourceResult", "read_sources"]
