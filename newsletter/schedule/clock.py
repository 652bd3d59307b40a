"""The daemon's idea of now: the system clock, or (tests) the system clock moved by a file.

A test cannot wait for Friday 09:00, nor for the 9 s it takes a daemon to start and reach a due
time a few seconds ahead. ``newsletter schedule --clock FILE`` (hidden) reads an offset in
seconds from FILE at every reading of the time; writing a new offset makes the daemon's time
jump, and the daemon wakes up to look at its jobs at once. Everything else is real: the process,
the job store, the SMTP server.
"""

from __future__ import annotations

import os
import threading
from datetime import datetime, timedelta, tzinfo
from pathlib import Path

import apscheduler.executors.base
import apscheduler.schedulers.base


class Clock:
    """The system clock."""

    def now(self, tz: tzinfo | None = None) -> datetime:
        return datetime.now(tz)

    def moved(self) -> bool:
        """True once after the clock jumped (never, for the system clock's own changes)."""
        return False


class FileClock(Clock):
    """The system clock plus the number of seconds written in ``path`` (0 while it is missing)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._stamp: int | None = None
        self._offset = 0.0
        self._seen: int | None = None

    def offset(self) -> float:
        with self._lock:
            try:
                stamp = os.stat(self.path).st_mtime_ns
            except FileNotFoundError:
                return 0.0
            if stamp != self._stamp:
                text = self.path.read_text(encoding="utf-8").strip()
                if text:  # a file being written reads empty for a moment: keep the last offset
                    self._offset, self._stamp = float(text), stamp
            return self._offset

    def now(self, tz: tzinfo | None = None) -> datetime:
        offset = self.offset()
        return datetime.now(tz) + timedelta(seconds=offset)

    def moved(self) -> bool:
        self.offset()
        with self._lock:
            changed = self._stamp != self._seen
            self._seen = self._stamp
        return changed

    @staticmethod
    def write(path: Path, moment: datetime) -> None:
        """Make a FileClock on ``path`` read ``moment`` now (the tests' side)."""
        offset = (moment - datetime.now(moment.tzinfo)).total_seconds()
        partial = path.with_name(path.name + ".part")
        partial.write_text(f"{offset:.6f}\n", encoding="utf-8")
        os.replace(partial, path)


def follow(clock: Clock) -> None:
    """Make APScheduler read ``clock``.

    APScheduler 3 has no clock parameter (4.0 will): its scheduler loop and executors call
    ``datetime.now`` through the name each module imported. Those two names are pointed at a
    ``datetime`` whose ``now`` asks ``clock``; the modules use the name for nothing else.
    """

    class _ClockDatetime(datetime):
        @classmethod
        def now(cls, tz: tzinfo | None = None) -> datetime:  # type: ignore[override]
            return clock.now(tz)

    apscheduler.schedulers.base.datetime = _ClockDatetime  # type: ignore[misc]
    apscheduler.executors.base.datetime = _ClockDatetime  # type: ignore[misc]
