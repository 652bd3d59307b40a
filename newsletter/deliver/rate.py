"""Rate limits: messages per second and per hour, as providers cap senders.

Per second is a token bucket (a burst of at most one second's worth). Per hour is a sliding
window of per-minute counts, seeded from the ledger, so a send started right after another one
counts what that one used.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

HOUR = 3600.0


class RateLimit:
    def __init__(
        self, per_second: float = 0, per_hour: float = 0, history: Iterable[tuple[float, int]] = ()
    ) -> None:
        history = list(history)
        self.limits = per_second, per_hour
        self.per_second, self.per_hour = per_second, per_hour
        self._tokens = max(1.0, per_second)
        self._stamp: float | None = None
        self._minutes: deque[list[float]] = deque([minute, n] for minute, n in sorted(history))
        self._in_hour = sum(n for _, n in history)

    def share(self, senders: int) -> None:
        """Take 1/``senders`` of each limit: that many senders deliver together and the limits hold
        for all of them (the hourly window already counts everyone's sends since the start)."""
        per_second, per_hour = self.limits
        self.per_second, self.per_hour = per_second / senders, per_hour / senders

    def delay(self, now: float) -> float:
        """Seconds to wait before the next message may go; 0.0 when it may go now."""
        wait = 0.0
        if self.per_second:
            self._refill(now)
            if self._tokens < 1.0:
                wait = (1.0 - self._tokens) / self.per_second
        if self.per_hour:
            self._expire(now)
            if self._in_hour >= self.per_hour and self._minutes:
                wait = max(wait, self._minutes[0][0] + 60.0 + HOUR - now)
        return wait

    def take(self, now: float) -> None:
        """Count one message handed to the server at ``now``."""
        if self.per_second:
            self._refill(now)
            self._tokens -= 1.0
        if self.per_hour:
            minute = now - now % 60
            if self._minutes and self._minutes[-1][0] == minute:
                self._minutes[-1][1] += 1
            else:
                self._minutes.append([minute, 1])
            self._in_hour += 1

    def _refill(self, now: float) -> None:
        if self._stamp is not None:
            self._tokens = min(
                max(1.0, self.per_second), self._tokens + (now - self._stamp) * self.per_second
            )
        self._stamp = now

    def _expire(self, now: float) -> None:
        while self._minutes and self._minutes[0][0] + 60.0 <= now - HOUR:
            self._in_hour -= int(self._minutes.popleft()[1])
