"""Robustness over ../shared/corpora/feeds: about 4,400 real-world and test feeds, good and bad.

Every file either yields items, is a valid feed with no usable entries (an empty list), or raises
a clean SourceError; never another exception, never a hang (each file gets a few seconds).
The whole run takes about 5 seconds on the project's 2-core machines.
"""

from __future__ import annotations

import signal
import time
from collections import Counter
from pathlib import Path

import pytest
from conftest import SHARED

from newsletter.config import SourceSection
from newsletter.errors import SourceError
from newsletter.sources.feed import parse_feed

pytestmark = pytest.mark.sqlite_only  # parses feed files; opens no database

CORPUS = SHARED / "corpora" / "feeds"
SECONDS_PER_FILE = 5


class Hang(Exception):
    pass


def _alarm(signum: int, frame: object) -> None:
    raise Hang


def corpus_files() -> list[Path]:
    skip = {"README", "LICENSE", "COPYING"}
    return sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.name not in skip)


@pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpora/feeds is not here")
def test_every_corpus_file_yields_items_or_a_clean_source_error() -> None:
    files = corpus_files()
    assert len(files) > 4000
    outcomes: Counter[str] = Counter()
    problems: list[str] = []
    previous = signal.signal(signal.SIGALRM, _alarm)
    started = time.perf_counter()
    try:
        for path in files:
            relative = path.relative_to(CORPUS)
            source = SourceSection(name=str(relative), path=str(path))
            signal.alarm(SECONDS_PER_FILE)
            try:
                items = parse_feed(
                    path.read_bytes(), source=source, base_url=f"http://corpus.example/{relative}"
                )
                outcomes["items" if items else "empty"] += 1
                for item in items:
                    assert item.title and item.link.startswith(("http://", "https://")), relative
                    assert not item.image or item.image.startswith(("http://", "https://")), relative
            except SourceError as exc:
                outcomes["error"] += 1
                assert exc.message.startswith(f"source {str(relative)!r}"), exc.message
            except Hang:
                problems.append(f"{relative}: still parsing after {SECONDS_PER_FILE} s")
            except Exception as exc:  # the point of the test: nothing else escapes
                problems.append(f"{relative}: {exc.__class__.__name__}: {exc}")
            finally:
                signal.alarm(0)
    finally:
        signal.signal(signal.SIGALRM, previous)
    elapsed = time.perf_counter() - started
    print(f"\ncorpus: {len(files)} files in {elapsed:.1f} s: {dict(outcomes)}")
    assert not problems, "\n".join(problems[:20])
    assert outcomes["items"] > 800
