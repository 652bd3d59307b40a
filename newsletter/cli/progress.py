"""The send's progress: a rich progress bar on a terminal, plain log lines otherwise, and a summary.

Verdicts arrive thousands of times a second; the display is refreshed at most ten times a
second (a log line every ``every`` seconds), so watching costs the send nothing.
"""

from __future__ import annotations

import time
from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TaskProgressColumn, TextColumn, TimeRemainingColumn

from newsletter.models import DeliveryResult

STATES = ("sent", "deferred", "failed", "skipped")


class SendProgress:
    def __init__(self, console: Console, live: bool, every: float = 5.0) -> None:
        self.console, self.live, self.every = console, live, every
        self.counts = dict.fromkeys(STATES, 0)
        self.total: int | None = None
        self._start = time.monotonic()
        self._last_line = self._start
        self._last_draw = 0.0
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    def __enter__(self) -> SendProgress:
        if self.live:
            self._progress = Progress(
                TextColumn("sending"),
                BarColumn(),
                TaskProgressColumn(),
                TextColumn("{task.fields[counts]}"),
                TextColumn("{task.fields[rate]}/s"),
                TimeRemainingColumn(),
                console=self.console,
                transient=True,
            )
            self._progress.__enter__()
            self._task = self._progress.add_task("send", total=None, counts="", rate="0")
        return self

    @property
    def done(self) -> int:
        return sum(self.counts.values())

    def rate(self) -> float:
        return self.done / max(1e-6, time.monotonic() - self._start)

    def text(self) -> str:
        c = self.counts
        text = f"{c['sent']} sent / {c['deferred']} deferred / {c['failed']} failed"
        return text + (f" / {c['skipped']} skipped" if c["skipped"] else "")

    def set_total(self, total: int) -> None:
        self.total = total
        self._start = time.monotonic()
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, total=total)
        elif total:
            self.console.print(f"sending to {total} recipient(s)")

    def observe(self, email: str, state: str, result: DeliveryResult) -> None:
        if state in self.counts:
            self.counts[state] += 1
        now = time.monotonic()
        if self._progress is not None and self._task is not None:
            if now - self._last_draw >= 0.1 or self.done == self.total:
                self._last_draw = now
                self._progress.update(
                    self._task, completed=self.done, counts=self.text(), rate=f"{self.rate():.0f}"
                )
        elif state == "failed":
            self.console.print(f"failed: {email}: {result.code} {result.reply}")
        elif now - self._last_line >= self.every:
            self._last_line = now
            left = f" of {self.total}" if self.total is not None else ""
            self.console.print(f"progress: {self.done}{left}: {self.text()}, {self.rate():.0f}/s")

    def summary(self) -> str:
        """One line for the end: what this run did and how fast."""
        elapsed = time.monotonic() - self._start
        return f"this run: {self.text()} in {elapsed:.1f} s ({self.rate():.0f} messages/s)"

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._progress is not None:
            self._progress.__exit__(exc_type, exc, tb)
