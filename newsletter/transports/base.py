from __future__ import annotations

from typing import Protocol

from newsletter.models import DeliveryResult


class Transport(Protocol):
    def open(self) -> None: ...

    def send(self, sender: str, recipient: str, data: bytes) -> DeliveryResult: ...

    def close(self) -> None: ...
