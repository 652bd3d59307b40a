"""Plain frozen data passed between the stages."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class IssueState(StrEnum):
    """draft (the editor may change it) -> sending (frozen, the ledger is filled) -> sent."""

    DRAFT = "draft"
    SENDING = "sending"
    SENT = "sent"


class DeliveryState(StrEnum):
    """One recipient's fate in the ledger; pending and deferred are still to be sent."""

    SENT = "sent"
    PENDING = "pending"
    DEFERRED = "deferred"
    FAILED = "failed"
    SKIPPED = "skipped"


UNSENT = (DeliveryState.PENDING, DeliveryState.DEFERRED)


class SubscriberStatus(StrEnum):
    """Only active subscribers get mail; unsubscribed and bounced are the suppression list."""

    ACTIVE = "active"
    PENDING = "pending"  # signed up through the form, not confirmed yet
    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"
    REMOVED = "removed"  # absent from the CSV the list mirrors


SUPPRESSED = (SubscriberStatus.UNSUBSCRIBED, SubscriberStatus.BOUNCED)


class FeedbackKind(StrEnum):
    """What came back about one message after it was sent."""

    PERMANENT = "permanent"  # a bounce: 5.x.x, the address does not take mail
    TRANSIENT = "transient"  # a bounce: 4.x.x (mailbox full, delayed); counted, suppressed after N in a row
    COMPLAINT = "complaint"  # an ARF feedback report: the person marked it as spam
    AUTOREPLY = "autoreply"  # out of office, vacation: never counted as a bounce
    UNSUBSCRIBE = "unsubscribe"  # the person followed the issue's unsubscribe link


BOUNCES = (FeedbackKind.PERMANENT, FeedbackKind.TRANSIENT)


class RunOutcome(StrEnum):
    """What a send (by hand or scheduled) ended with, as the runs table and `status` say it."""

    SENT = "sent"
    PARTIAL = "partial"  # some recipients wait for a retry
    PAUSED = "paused"  # errors in a row
    NOTHING_NEW = "nothing-new"
    ALREADY_SENT = "already-sent"
    DRY_RUN = "dry-run"
    FAILED = "failed"
    BUSY = "busy"  # another process holds the send lock
    STOPPED = "stopped"  # by a signal
    MISSED = "missed"  # due beyond the grace time
    RUNNING = "running"  # not finished: the process died during it, or still runs
    HELD = "held"  # an editor held it, or approval is awaited: sent when released
    SKIPPED = "skipped"  # approval never came within the grace: this period is not sent
    ROLLED_OVER = "rolled-over"  # fewer items than [issue] min_items: they wait for the next issue


# Runs that did their week's work; any other outcome of a scheduled run is tried again.
DONE = (RunOutcome.SENT, RunOutcome.NOTHING_NEW, RunOutcome.SKIPPED, RunOutcome.ROLLED_OVER)


@dataclass(frozen=True, slots=True)
class Item:
    """One story: what a card, a teaser or a further link shows."""

    title: str
    link: str
    summary: str = ""
    published: datetime | None = None
    source: str = ""
    label: str = ""
    image: str = ""
    is_video: bool = False
    # The size the image is shown at (CSS px), once prepared for its slot; 0: not known.
    image_width: int = 0
    image_height: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "link": self.link,
            "summary": self.summary,
            "published": self.published.isoformat() if self.published else None,
            "source": self.source,
            "label": self.label,
            "image": self.image,
            "is_video": self.is_video,
            "image_width": self.image_width,
            "image_height": self.image_height,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Item:
        published = data.get("published")
        return cls(
            title=str(data.get("title", "")),
            link=str(data.get("link", "")),
            summary=str(data.get("summary", "") or ""),
            published=datetime.fromisoformat(published) if published else None,
            source=str(data.get("source", "") or ""),
            label=str(data.get("label", "") or ""),
            image=str(data.get("image", "") or ""),
            is_video=bool(data.get("is_video", False)),
            image_width=int(data.get("image_width", 0) or 0),
            image_height=int(data.get("image_height", 0) or 0),
        )


# What the editor may change in an item (draft edit): the rest is the feed's.
EDITABLE = ("title", "summary", "image", "is_video")

# Where images are shown, in CSS px: the email's width, the headline image across the column inside
# it, a card's thumbnail on wide screens and on phones. The templates lay the email out with these
# (render), and the images are cropped and scaled for them (sources.images).
SLOTS = {"body": 600, "headline": 552, "card": 184, "card_phone": 112}


@dataclass(frozen=True, slots=True)
class Candidate:
    """A story the period's draft may hold: its story key, the item, and where it goes by default
    ("auto": a headline or a card; "links": the further links)."""

    key: str
    item: Item
    placement: str = "auto"

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "placement": self.placement, "item": self.item.to_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Candidate:
        return cls(str(data["key"]), Item.from_dict(data["item"]), str(data.get("placement", "auto")))


@dataclass(slots=True)
class Choices:
    """The editor's changes, kept apart from the candidates so that collecting again keeps them."""

    headline: str | None = None  # the pinned story key
    drop: list[str] = field(default_factory=list)
    order: list[str] = field(default_factory=list)  # keys the editor ordered, first in this order
    placement: dict[str, str] = field(default_factory=dict)  # key -> "auto" | "links", overriding
    edits: dict[str, dict[str, Any]] = field(default_factory=dict)  # key -> EDITABLE fields
    add: list[Candidate] = field(default_factory=list)  # stories the editor added

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"drop": self.drop, "order": self.order, "placement": self.placement}
        data |= {"edits": self.edits, "add": [c.to_dict() for c in self.add]}
        if self.headline:
            data["headline"] = self.headline
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Choices:
        return cls(
            headline=data.get("headline") or None,
            drop=list(data.get("drop", [])),
            order=list(data.get("order", [])),
            placement=dict(data.get("placement", {})),
            edits={k: dict(v) for k, v in data.get("edits", {}).items()},
            add=[Candidate.from_dict(c) for c in data.get("add", [])],
        )


@dataclass(slots=True)
class Draft:
    """A period's draft as stored: the candidates collection found, and the editor's choices."""

    candidates: list[Candidate] = field(default_factory=list)
    choices: Choices = field(default_factory=Choices)

    def entries(self) -> list[Candidate]:
        """The candidates and the stories the editor added."""
        return [*self.candidates, *self.choices.add]

    def to_json(self) -> str:
        data = {"candidates": [c.to_dict() for c in self.candidates], "choices": self.choices.to_dict()}
        return json.dumps(data, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Draft:
        data = json.loads(text or "{}")
        return cls(
            [Candidate.from_dict(c) for c in data.get("candidates", [])],
            Choices.from_dict(data.get("choices", {})),
        )


@dataclass(frozen=True, slots=True)
class Period:
    """The span of time one issue covers, in the newsletter's time zone."""

    key: str  # e.g. "2023-W46": one issue per key
    start: datetime  # aware; items published at or after this
    end: datetime  # aware; and before this (the as-of time, the issue's cutoff)


@dataclass(frozen=True, slots=True)
class Issue:
    """The period's draft: what will be sent, in order."""

    period: Period
    headline: Item | None
    cards: tuple[Item, ...] = ()
    links: tuple[Item, ...] = ()
    notes: tuple[str, ...] = ()  # what the operator should know, e.g. an image left out and why

    @property
    def items(self) -> tuple[Item, ...]:
        head = (self.headline,) if self.headline else ()
        return head + self.cards + self.links

    @property
    def is_empty(self) -> bool:
        return self.headline is None


@dataclass(frozen=True, slots=True)
class Subscriber:
    email: str
    name: str = ""
    fields: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RenderedIssue:
    """An issue rendered once; per-recipient values are ``@@token@@`` placeholders in html and text."""

    subject: str
    preheader: str
    html: str
    text: str
    period_key: str
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """What the transport said about one message."""

    state: DeliveryState
    code: int = 0
    reply: str = ""
