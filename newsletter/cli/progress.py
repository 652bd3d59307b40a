"""The send's progress: a rich progress bar on a terminal, plain log lines otherwise."""

from __future__ import annotations

import time
from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TaskProgressColumn, TextColumn, TimeRemainingColumn

from newsletter.models import DeliveryResult


class SendProgress:
    def __init__(self, console: Console, live: bool, every: float = 5.0) -> None:
        self.console, self.live, self.every = console, live, every
        self.counts = {"sent": 0, "deferred": 0, "failed": 0}
        self.total: int | None = None
        self._last = time.monotonic()
        self._start = time.monotonic()
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

    def set_total(self, total: int) -> None:
        self.total = total
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, total=total)

    def observe(self, email: str, state: str, result: DeliveryResult) -> None:
        if state in self.counts:
            self.counts[state] += 1
        done = sum(self.counts.values())
        elapsed = max(1e-6, time.monotonic() - self._start)
        text = f"{self.counts['sent']} sent / {self.counts['deferred']} deferred / {self.counts['failed']} failed"
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, completed=done, counts=text, rate=f"{done / elapsed:.0f}")
        elif state == "failed" or time.monotonic() - self._last >= self.every:
            self._last = time.monotonic()
            detail = f" (last failure {email}: {result.code} {result.reply})" if state == "failed" else ""
            self.console.print(f"progress: {text}, {done / elapsed:.0f}/s{detail}")

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._progress is not None:
            self._progress.__exit__(exc_type, exc, tb)
