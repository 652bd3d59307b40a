from __future__ import annotations

from typing import Protocol

from newsletter.compose import Composed
from newsletter.models import DeliveryResult


class Transport(Protocol):
    def open(self) -> None: ...

    def send(self, sender: str, recipient: str, data: bytes | Composed) -> DeliveryResult:
        """One message: bytes from anywhere, or a message ``compose`` built (no dot-stuffing needed)."""
        ...

    def close(self) -> None: ...
