from __future__ import annotations

from dataclasses import dataclass, field

from newsletter.compose import Composed
from newsletter.models import DeliveryResult, DeliveryState


@dataclass
class MemoryTransport:
    """Keeps every message in a list; answers can be scripted per recipient for tests."""

    sent: list[tuple[str, str, bytes]] = field(default_factory=list)
    answers: dict[str, DeliveryResult] = field(default_factory=dict)

    def open(self) -> None:
        pass

    def send(self, sender: str, recipient: str, data: bytes | Composed) -> DeliveryResult:
        answer = self.answers.get(recipient, DeliveryResult(DeliveryState.SENT, 250, "OK"))
        if answer.state == DeliveryState.SENT:
            self.sent.append((sender, recipient, bytes(data)))
        return answer

    def close(self) -> None:
        pass
