"""Sources turn bytes into Items: RSS/Atom feeds and hand-written items files.

``read_sources`` fetches every configured source concurrently and reports, per source, either
its items (and notes, such as a web page read through the feed it announces) or the
``SourceError`` that says why it could not be read; ``source_warnings`` turns a run's errors and
notes into the lines the operator sees.
"""

from __future__ import annotations

from newsletter.sources.base import SourceResult, read_sources, source_warnings

__all__ = ["SourceResult", "read_sources", "source_warnings"]
