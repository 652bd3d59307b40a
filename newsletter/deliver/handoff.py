"""Delivery handed to a lean process: what `newsletter send` does once the issue is ready.

Collecting, rendering and the readiness checks load the renderer's stack (Jinja2, MJML, premailer,
lxml), the feeds' (httpx, feedparser) and more: 60 MB that a forked SMTP worker would share and
partly copy, for a delivery that needs none of it. So, once the issue is frozen and its ledger rows
enqueued, the command replaces itself (``os.execv``: the same process id, so signals, the exit code
and whoever waits for it see one process) with an interpreter that imports only what delivery needs
(config, store, compose, transports, this package) and forks the workers from there.

The issue travels as a ``DeliveryJob`` in an anonymous in-memory file (``memfd``) whose descriptor
the new image inherits. The new image takes the send lock again (the old image's descriptor closed
at exec): a send started in that instant finds the lock free, resumes the same issue through the
same ledger, and this one says another send is running. Nobody gets the issue twice for it.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from sqlalchemy import Engine

from newsletter import store
from newsletter.compose import Composer
from newsletter.config import Settings
from newsletter.deliver import DeliverySummary, Observer, deliver
from newsletter.errors import DeliveryError
from newsletter.models import IssueState, RenderedIssue


@dataclass(slots=True)
class DeliveryJob:
    """An issue ready to deliver: frozen (its rendering stored), its ledger rows enqueued."""

    issue_id: int
    period_key: str
    route: str  # how it goes, for the closing line ("over SMTP to ...")
    max_wait: float = 0.0
    exclusive: bool = True
    warnings: list[str] = field(default_factory=list)
    stopped_by: int = 0  # a signal that arrived before the hand-over


def write_job(job: DeliveryJob, config: str) -> int:
    """The job and the config file's path in a new anonymous file; its descriptor, open for reading
    and inherited across exec."""
    fd = os.memfd_create("newsletter-delivery", 0)  # no MFD_CLOEXEC: the new image reads it
    os.write(fd, json.dumps({"config": config, "job": asdict(job)}).encode())
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def read_job(fd: int) -> tuple[DeliveryJob, str]:
    """What ``write_job`` wrote: the job and the config file's path."""
    with os.fdopen(fd, "rb") as handle:
        data = json.loads(handle.read())
    return DeliveryJob(**data["job"]), data["config"]


def deliver_job(
    settings: Settings,
    engine: Engine,
    job: DeliveryJob,
    *,
    observer: Observer | None = None,
    stop: threading.Event | None = None,
    on_total: Callable[[int], None] | None = None,
) -> DeliverySummary:
    """Deliver the job's issue from its stored rendering, under the send lock."""
    with store.locks.send_lock(engine, exclusive=job.exclusive):
        row = store.issues.get(engine, job.period_key)
        if row is None or row.id != job.issue_id or row.state == IssueState.DRAFT or not row.html:
            raise DeliveryError(
                f"issue {job.period_key} is not ready to deliver (was the database replaced?)"
            )
        rendered = RenderedIssue(
            subject=row.subject, preheader="", html=row.html, text=row.text, period_key=row.period_key
        )
        if on_total is not None:
            on_total(store.ledger.due(engine, row.id))
        return deliver(
            settings,
            engine,
            row.id,
            rendered,
            composer=Composer(settings, rendered),
            observer=observer,
            stop=stop,
            max_wait=job.max_wait,
        )
