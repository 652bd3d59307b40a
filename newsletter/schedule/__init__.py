"""The weekly daemon (``daemon``) and the clock it reads (``clock``)."""

from newsletter.schedule.clock import Clock, FileClock
from newsletter.schedule.daemon import (
    BOUNCES_JOB,
    WEEKLY_JOB,
    Daemon,
    StartReport,
    deadline_id,
    followup_id,
    parse_when,
    previous_fire,
    send_alert,
    trigger_for,
)

__all__ = [
    "BOUNCES_JOB",
    "WEEKLY_JOB",
    "Clock",
    "Daemon",
    "FileClock",
    "StartReport",
    "deadline_id",
    "followup_id",
    "parse_when",
    "previous_fire",
    "send_alert",
    "trigger_for",
]
