"""The weekly daemon: APScheduler 3.11 runs `pipeline.send` for the current period on a schedule.

    [schedule] when ("fri 09:00") -> CronTrigger(day_of_week="fri", hour=9, minute=0, timezone=...)
    the job lives in the project's database (SQLAlchemyJobStore, table ``apscheduler_jobs``)
    each run: pipeline.send(now) -> a row in ``runs`` (trigger "schedule") -> a log line
    failure: a one-off retry job after retry_minutes, doubling, while the period lasts; an alert email

What makes it safe to forget:

- The weekly job is added only when missing; ``replace_existing=True`` would recompute its next
  run from now and silently drop a run that fell due while the process was down.
- ``misfire_grace_time`` is ``grace_hours`` (APScheduler's default of 1 s drops a late week) and
  ``coalesce`` is on, so a daemon started within the grace runs once, however many periods it missed.
- APScheduler advances the stored next run time *before* the job runs, so a daemon killed mid-send
  would not run again by itself: at start, every issue left in state "sending" is resumed, and a
  run that fell due within the grace with no run recorded since is made up.
- Two daemons (or cron, or a person) on one database, on one machine or several: a scheduled run
  takes the send lock (PostgreSQL: an advisory lock), so one of them sends and the others find the
  issue busy or already sent.

Library code: it logs and raises, never prints; `newsletter schedule` is the shell around it.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from zoneinfo import ZoneInfo

from apscheduler.events import EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import ConflictingIdError
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_RUNNING
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import Engine, inspect
from sqlalchemy.exc import SQLAlchemyError

from newsletter import pipeline, preflight, store
from newsletter.collect import period_for
from newsletter.config import Settings, when_spec
from newsletter.errors import NewsletterError
from newsletter.feedback import read_mailbox
from newsletter.models import IssueState, RunOutcome
from newsletter.schedule.clock import Clock, follow
from newsletter.store import backup
from newsletter.transports import send_note

log = logging.getLogger(__name__)

WEEKLY_JOB = "newsletter-weekly"
BOUNCES_JOB = "newsletter-bounces"
PREFLIGHT_JOB = "newsletter-preflight"
# Outcomes after which a run must be tried again ("running": the process died during it).
UNFINISHED = (RunOutcome.FAILED, RunOutcome.BUSY, RunOutcome.PAUSED, RunOutcome.STOPPED, RunOutcome.RUNNING)
# How often the waiting daemon looks at the job store: jobs another daemon added, a clock jump.
POLL_SECONDS = 60.0
# How often it looks for an editor's release (a link on `serve`, `newsletter release`: other processes).
EDITORS_SECONDS = 2.0


# --- the schedule in words ----------------------------------------------------------------


def parse_when(text: str, zone: ZoneInfo) -> CronTrigger:
    """``"fri 09:00"``, ``"mon,thu 07:30"``, ``"mon-fri 08:15"`` or ``"daily 06:00"`` -> a CronTrigger
    (the words are read by ``config.when_spec``, so a mistake stops every command at load).
    """
    days, hour, minute = when_spec(text)
    return LocalTimeTrigger(day_of_week=days, hour=hour, minute=minute, second=0, timezone=zone)


class LocalTimeTrigger(CronTrigger):
    """A CronTrigger that fires once at a local time the clock shows twice.

    On the night summer time ends (Europe/Brussels, 2023-10-29) 02:30 happens at 00:30 and again
    at 01:30 UTC; CronTrigger fires at both. A time that does not exist (the spring night) fires
    an hour later by the clock, as CronTrigger already does.
    """

    def get_next_fire_time(self, previous_fire_time: datetime | None, now: datetime) -> datetime | None:
        fire = super().get_next_fire_time(previous_fire_time, now)
        if fire is not None and previous_fire_time is not None:
            shown = previous_fire_time.astimezone(fire.tzinfo).replace(tzinfo=None)
            if fire.replace(tzinfo=None) == shown:  # the same wall time, the second time round
                # One time of day per schedule: the next fire is on a later day.
                next_day = datetime.combine(fire.date() + timedelta(days=1), dtime(0), fire.tzinfo)
                fire = super().get_next_fire_time(None, next_day)
        return fire  # type: ignore[no-any-return]


def trigger_for(settings: Settings) -> CronTrigger:
    return parse_when(settings.schedule.when, settings.zone)


def describe_trigger(trigger: CronTrigger) -> str:
    return f"{trigger} {trigger.timezone}"


def previous_fire(trigger: CronTrigger, now: datetime) -> datetime | None:
    """The latest fire time at or before ``now`` (within the last eight days)."""
    fire = trigger.get_next_fire_time(None, now - timedelta(days=8))
    last = None
    while fire is not None and fire <= now:
        last = fire
        fire = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
    return last


# --- the jobs (module-level functions: the job store keeps a reference to them by name) ----

_daemon: Daemon | None = None


def weekly_job(since: str = "") -> None:
    """The weekly run: the current period's issue. ``since``: when this schedule took effect."""
    if _daemon is not None:
        _daemon.run()


def followup_job(period_key: str, attempt: int, reason: str) -> None:
    """A retry, a resume after a restart, or a run made up after one: the given period's issue."""
    if _daemon is not None:
        _daemon.run(period_key=period_key, attempt=attempt, reason=reason)


def preflight_job(due: str) -> None:
    """[schedule] preflight before the run due at ``due``: email the editors the issue."""
    if _daemon is not None:
        _daemon.mail_preflight(datetime.fromisoformat(due))


def deadline_job(period_key: str) -> None:
    """Approval mode: the period's issue was not approved within the grace: skip it."""
    if _daemon is not None:
        _daemon.approval_deadline(period_key)


def deadline_id(period_key: str) -> str:
    return f"newsletter-deadline-{period_key}"


def bounces_job() -> None:
    """Every [bounces] every_minutes: read the bounce mailbox."""
    if _daemon is not None:
        _daemon.read_bounces()


def followup_id(period_key: str) -> str:
    return f"newsletter-followup-{period_key}"


# --- the daemon ---------------------------------------------------------------------------


@dataclass(slots=True)
class StartReport:
    """What the daemon found and decided at start, for the shell to show."""

    next_run: datetime | None
    notes: list[str] = field(default_factory=list)


class _Scheduler(BackgroundScheduler):
    def _process_jobs(self) -> float | None:
        # APScheduler 3.11 looks for due jobs once more after shutdown() has begun: it cannot
        # submit them to the stopped executor, yet advances (or deletes) them in the job store.
        if self.state != STATE_RUNNING:
            return None
        return super()._process_jobs()  # type: ignore[no-any-return]


class Daemon:
    """One scheduler process. ``start`` then ``wait`` (until ``request_stop``), then ``shutdown``."""

    def __init__(self, settings: Settings, engine: Engine, *, clock: Clock | None = None) -> None:
        self.settings, self.engine = settings, engine
        self.clock = clock or Clock()
        follow(self.clock)
        self.trigger = trigger_for(settings)
        self.grace = max(1, int(settings.schedule.grace_hours * 3600))
        # Set on SIGTERM/SIGINT: the delivery loop stops taking recipients after the message in flight.
        self.stop_sending = threading.Event()
        # A plain flag, polled: a signal handler must not take a lock the main thread may hold.
        self._stop_requested = False
        self._released: dict[str, int] = {}  # period -> the release (row version) a run was started for
        self._preflight_retry: dict[datetime, datetime] = {}  # due time -> not before (after a failure)
        self._jobs = SQLAlchemyJobStore(engine=engine, tablename=store.runs.JOB_TABLE)
        self.scheduler = _Scheduler(
            # The bounce mailbox's job is planned anew at each start: it lives in memory only.
            jobstores={"default": self._jobs, "memory": MemoryJobStore()},
            # One run at a time in this process; other processes are kept out by the send lock. The
            # bounce mailbox is read on a thread of its own, so a long send does not delay it.
            executors={"default": ThreadPoolExecutor(1), "feedback": ThreadPoolExecutor(1)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": self.grace},
            timezone=settings.zone,
        )
        self.scheduler.add_listener(self._on_missed, EVENT_JOB_MISSED)

    # -- lifecycle

    def start(self) -> StartReport:
        """Open the job store, put the weekly job and the follow-ups in order, then begin running them."""
        global _daemon
        _daemon = self
        notes: list[str] = []
        self._create_job_table()
        self.scheduler.start(paused=True)
        existed = self._ensure_weekly(notes)
        self._plan_followups(existed, notes)
        if self.settings.bounces.mailbox:
            self.scheduler.add_job(
                bounces_job,
                "interval",
                minutes=self.settings.bounces.every_minutes,
                id=BOUNCES_JOB,
                name="read the bounce mailbox",
                jobstore="memory",
                executor="feedback",
                next_run_time=self.now(),
                replace_existing=True,
            )
            notes.append(
                f"reading the bounce mailbox every {self.settings.bounces.every_minutes:g} minute(s)"
            )
        self.scheduler.resume()
        if preflight.enabled(self.settings):
            notes.append(
                f"emailing the issue to {', '.join(self.settings.editors)} {self.settings.schedule.preflight} "
                "before each send" + (" for approval" if self.settings.schedule.approval else "")
            )
            self._look_at_editors()
        for note in notes:
            log.info(note)
        return StartReport(self.next_run(), notes)

    def _create_job_table(self) -> None:
        # Two daemons starting on a new database both find the table missing; one CREATE loses.
        try:
            self._jobs.jobs_t.create(self.engine, checkfirst=True)
        except SQLAlchemyError:
            if not inspect(self.engine).has_table(store.runs.JOB_TABLE):
                raise

    def wait(self) -> None:
        polled = looked = time.monotonic()
        while not self._stop_requested:
            time.sleep(0.2)
            if self.clock.moved() or time.monotonic() - polled >= POLL_SECONDS:
                self.scheduler.wakeup()
                polled = time.monotonic()
            if preflight.enabled(self.settings) and time.monotonic() - looked >= EDITORS_SECONDS:
                self._look_at_editors()
                looked = time.monotonic()

    def request_stop(self) -> None:
        """Safe from a signal handler: no new recipients, no new runs; ``wait`` returns."""
        self._stop_requested = True
        self.stop_sending.set()

    def shutdown(self) -> None:
        """Wait for the run in progress (it finishes the message in flight) and close the scheduler."""
        global _daemon
        self.request_stop()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)
        if _daemon is self:
            _daemon = None

    def now(self) -> datetime:
        return self.clock.now(self.settings.zone)

    def _since_now(self) -> dict[str, str]:
        return {"since": self.clock.now(UTC).isoformat()}

    def next_run(self) -> datetime | None:
        times = [j.next_run_time for j in self.scheduler.get_jobs() if j.next_run_time]
        return min(times) if times else None

    # -- start-up decisions

    def _ensure_weekly(self, notes: list[str]) -> bool:
        """Add the weekly job when missing; follow a changed schedule without losing a due run."""
        job = self.scheduler.get_job(WEEKLY_JOB)
        if job is None:
            try:
                self.scheduler.add_job(
                    weekly_job, self.trigger, id=WEEKLY_JOB, name="weekly send", kwargs=self._since_now()
                )
            except ConflictingIdError:  # another daemon added it a moment ago
                job = self.scheduler.get_job(WEEKLY_JOB)
            else:
                return False
        assert job is not None
        if job.misfire_grace_time != self.grace:
            job = job.modify(misfire_grace_time=self.grace, coalesce=True, max_instances=1)
        if describe_trigger(job.trigger) == describe_trigger(self.trigger):
            return True
        now = self.now()
        if job.next_run_time is not None and job.next_run_time <= now:
            # A run fell due while the daemon was down: keep its time and change only the trigger,
            # so it still runs now (within the grace, once) and the new schedule takes over after it.
            # reschedule_job() would compute the next time from now and drop that run.
            job.modify(trigger=self.trigger, kwargs=self._since_now())
        else:
            # Nothing is due: the new schedule decides the next run. The next issue's window starts
            # at the last sent cutoff, so moving the day loses no item.
            job.reschedule(self.trigger)
            job.modify(kwargs=self._since_now())
        notes.append(f"schedule changed to {self.settings.schedule.when!r}")
        return True

    def _plan_followups(self, existed: bool, notes: list[str]) -> None:
        """Resume part-sent issues, retry an unfinished run, make up a run nobody recorded."""
        now = self.now()
        current = period_for(now, self.settings.zone).key
        keys = [
            row.period_key for row in store.issues.all_issues(self.engine) if row.state == IssueState.SENDING
        ]
        for key in keys:
            self._add_followup(key, 0, "resume", now)
            notes.append(f"issue {key} was left part-sent: resuming it now")
        weekly = self.scheduler.get_job(WEEKLY_JOB)
        if not existed or weekly is None or current in keys:
            return
        if weekly.next_run_time is not None and weekly.next_run_time <= now:
            # APScheduler runs the latest due time once (coalesced) or reports it missed.
            latest = previous_fire(weekly.trigger, now) or weekly.next_run_time
            if (now - latest).total_seconds() <= self.grace:
                notes.append(f"the run due at {_local(latest)} was missed while down: running it now")
            return
        if self.scheduler.get_job(followup_id(current)) is not None:
            return  # a retry is already planned
        last = store.runs.last(self.engine, "schedule")
        if (
            last is not None
            and last["outcome"] in UNFINISHED
            and _period_key(last["started_at"], self) == current
        ):
            # A retry lost with the process (or a run killed midway): the runs table says so.
            self._add_followup(current, 1, "retry", now)
            notes.append(f"the last run ended {last['outcome']!r}: trying issue {current} again now")
            return
        due = previous_fire(self.trigger, now)
        if due is None or (now - due).total_seconds() > self.grace or due < _since(weekly.kwargs):
            return  # nothing due within the grace since this schedule took effect
        if store.runs.scheduled_since(self.engine, due) == 0:
            # The stored time was already advanced (the daemon died as the run began): make it up.
            self._add_followup(current, 0, "catch-up", now)
            notes.append(f"no run was recorded for {_local(due)}: running it now")

    def _add_followup(self, period_key: str, attempt: int, reason: str, when: datetime) -> None:
        """One follow-up job per period; an earlier time wins over a later one."""
        job_id = followup_id(period_key)
        existing = self.scheduler.get_job(job_id)
        kwargs = {"period_key": period_key, "attempt": attempt, "reason": reason}
        if existing is not None:
            current = getattr(existing, "next_run_time", None)  # unset while the scheduler is not started
            if current is None or current > when:
                existing.modify(kwargs=kwargs, next_run_time=when)
            return
        # Another daemon may have planned the same follow-up a moment ago.
        with contextlib.suppress(ConflictingIdError):
            self.scheduler.add_job(
                followup_job, "date", run_date=when, id=job_id, name=f"{reason} {period_key}", kwargs=kwargs
            )

    def _on_missed(self, event: JobExecutionEvent) -> None:
        when = _local(event.scheduled_run_time)
        text = (
            f"the run due at {when} was missed by more than {self.settings.schedule.grace_hours:g} hour(s) "
            "([schedule] grace_hours): not sending it late; the next issue's window covers its items"
        )
        log.warning(text)
        run_id = store.runs.start(self.engine, "schedule", at=self.now())
        store.runs.finish(self.engine, run_id, RunOutcome.MISSED, text)

    # -- the editors: preflight, holds, approval

    def _look_at_editors(self) -> None:
        """Plan the next preflight email; start a run for an issue an editor released."""
        try:
            self._plan_preflight()
            self._start_released()
        except SQLAlchemyError as exc:  # the database is away for a moment: the next look tries again
            log.warning("cannot read the editors' holds and releases: %s", exc)

    def _plan_preflight(self) -> None:
        weekly = self.scheduler.get_job(WEEKLY_JOB)
        due = weekly.next_run_time if weekly is not None else None
        now = self.now()
        if due is None or due <= now:
            return  # the run is due now: the gate decides (approval mode emails the preflight then)
        planned = self.scheduler.get_job(PREFLIGHT_JOB)
        if planned is not None and planned.kwargs.get("due") == due.isoformat():
            return
        row = store.preflights.get(self.engine, period_for(due, self.settings.zone).key)
        if row is not None and row.mailed_at is not None:
            return
        at = max(due - preflight.lead(self.settings), now, self._preflight_retry.get(due, now))
        if at >= due:
            return  # it failed until the send: the run goes as planned; the log said why
        self.scheduler.add_job(
            preflight_job,
            "date",
            run_date=at,
            id=PREFLIGHT_JOB,
            name="email the preflight",
            jobstore="memory",
            kwargs={"due": due.isoformat()},
            replace_existing=True,
        )

    def _start_released(self) -> None:
        now = self.now()
        for row in store.preflights.recent(self.engine, 3):
            if row.state != preflight.RELEASED or self._released.get(row.period_key) == row.version:
                continue
            if now >= row.expires_at:
                continue
            if not row.send_now:
                # Released to go at its time: the weekly run sends it then. Only a run that already
                # came and found it held (or awaiting approval) needs another.
                last = store.runs.last(self.engine, "schedule")
                if last is None or last["outcome"] != RunOutcome.HELD or last["period_key"] != row.period_key:
                    continue
            self._released[row.period_key] = row.version
            issue = store.issues.get(self.engine, row.period_key)
            if issue is not None and issue.state == IssueState.SENT:
                continue
            log.info(
                "issue %s was released by an editor (%s): sending it now", row.period_key, row.changed_by
            )
            self._add_followup(row.period_key, 0, "release", now)

    def mail_preflight(self, due: datetime) -> None:
        now = self.now()
        try:
            log.info(preflight.mail(self.settings, self.engine, due, now))
        except NewsletterError as exc:
            retry = now + timedelta(minutes=self.settings.schedule.retry_minutes)
            log.error(
                "cannot email the preflight: %s%s%s",
                exc.message,
                f" ({exc.hint})" if exc.hint else "",
                f"; trying again at {_local(retry)}" if retry < due else "",
            )
            self._preflight_retry[due] = retry  # the next look plans it then
        except Exception:  # a bug or a library error: the send itself still happens at its time
            log.exception("cannot email the preflight")
            self._preflight_retry[due] = due

    def _await_approval(self, key: str, now: datetime) -> str:
        """Approval mode at the due time: the preflight (if it never went) or one reminder; the deadline."""
        row = store.preflights.open_for(self.engine, key, now, preflight.period_end(now, self.settings))
        try:
            if row.mailed_at is None:
                log.info(preflight.mail(self.settings, self.engine, now, now))
            elif store.preflights.claim_reminder(self.engine, key):
                preflight.mail_reminder(self.settings, row)
                log.info("reminded %s that issue %s awaits approval", ", ".join(self.settings.editors), key)
        except NewsletterError as exc:
            log.error("cannot email the editors: %s", exc.message)
        until = preflight.deadline(self.settings, row)
        with contextlib.suppress(ConflictingIdError):
            self.scheduler.add_job(
                deadline_job,
                "date",
                run_date=max(until, now),
                id=deadline_id(key),
                name=f"approval deadline {key}",
                kwargs={"period_key": key},
            )
        return f"; skipped unless approved by {_local(until.astimezone(self.settings.zone))}"

    def approval_deadline(self, key: str) -> None:
        issue = store.issues.get(self.engine, key)
        if issue is not None and issue.state != IssueState.DRAFT:
            return
        row = store.preflights.change(
            self.engine, key, preflight.SKIPPED, by="daemon", allowed_from=(preflight.PENDING, preflight.HELD)
        )
        if row is None:
            return  # released meanwhile
        text = f"issue {key} was not approved in time: skipped; its stories wait for the next issue"
        log.warning(text)
        run_id = store.runs.start(self.engine, "schedule", at=self.now())
        store.runs.finish(self.engine, run_id, RunOutcome.SKIPPED, text, key)
        try:
            preflight.mail_skipped(self.settings, row)
        except NewsletterError as exc:
            log.error("cannot email the editors: %s", exc.message)

    # -- the bounce mailbox

    def read_bounces(self) -> None:
        """Read the bounce mailbox once; a failure is logged (the next reading tries again), never fatal."""
        try:
            found = read_mailbox(self.settings, self.engine)
        except NewsletterError as exc:
            log.warning(
                "cannot read the bounce mailbox: %s%s", exc.message, f" ({exc.hint})" if exc.hint else ""
            )
            return
        except SQLAlchemyError as exc:
            log.warning("cannot record bounces: %s", exc)
            return
        if found.moved or found.suppressed:
            log.info(
                "bounce mailbox: %d notification(s) recorded, %d address(es) suppressed",
                found.moved,
                len(found.suppressed),
            )

    # -- one run

    def run(self, period_key: str | None = None, attempt: int = 0, reason: str = "weekly") -> None:
        """Send the period's issue once, record the run, and plan what follows (retry, alert)."""
        if self.stop_sending.is_set():
            return
        now = self.now()
        as_of = self._as_of(period_key, now)
        if as_of is None:
            log.warning(
                "not retrying issue %s: its week is over and nothing of it was sent; "
                "the next issue's window covers its items",
                period_key,
            )
            return
        key = period_for(as_of, self.settings.zone).key
        run_id = store.runs.start(self.engine, "schedule", at=self.now())
        log.info("%s run for issue %s%s", reason, key, f" (attempt {attempt + 1})" if attempt else "")
        verdict = preflight.gate(self.settings, self.engine, key, now)
        if verdict is not None:
            state, text = verdict
            if state == RunOutcome.HELD and self.settings.schedule.approval:
                text += self._await_approval(key, now)
            log.info(text)
            store.runs.finish(self.engine, run_id, state, text, key)
            return
        try:
            outcome = pipeline.send(self.settings, self.engine, as_of, stop=self.stop_sending)
        except store.SendBusy as exc:
            text = f"{exc.message}: that send delivers issue {key}; checking again later"
            log.info(text)
            store.runs.finish(self.engine, run_id, RunOutcome.BUSY, text, key)
            self._retry(key, attempt, now)
        except NewsletterError as exc:
            self._failed(run_id, key, attempt, exc.message, exc.hint)
        except Exception as exc:  # a bug or a library error: keep the daemon alive and say so
            log.exception("run for issue %s failed", key)
            self._failed(run_id, key, attempt, f"{exc.__class__.__name__}: {exc}", None)
        else:
            self._finished(run_id, key, attempt, outcome)

    def _as_of(self, period_key: str | None, now: datetime) -> datetime | None:
        """Now for the current period; a past period only when its issue is part-sent (resume it)."""
        if period_key is None or period_key == period_for(now, self.settings.zone).key:
            return now
        row = store.issues.get(self.engine, period_key)
        if row is not None and row.state == IssueState.SENDING:
            return row.period_end
        return None

    def _finished(self, run_id: int, key: str, attempt: int, outcome: pipeline.SendOutcome) -> None:
        for warning in outcome.warnings:
            log.warning("issue %s: %s", key, warning)
        state, text = outcome.state, outcome.message
        if state == RunOutcome.PARTIAL and self.stop_sending.is_set():
            state, text = RunOutcome.STOPPED, f"{text}; stopped by a signal: the next start resumes it"
        if state == RunOutcome.NOTHING_NEW:
            text = f"skipped: {text}"
        store.runs.finish(self.engine, run_id, state, text, key)
        if state == RunOutcome.SENT:
            self._keep_a_backup()
        if state == RunOutcome.PAUSED:
            self._alert_and_retry(key, attempt, text, None)
            return
        log.info(text if text.startswith(f"issue {key}") else f"issue {key}: {text}")
        if state == RunOutcome.PARTIAL and outcome.summary is not None:
            # Deferred recipients: come back when the ledger says their next attempt is due.
            upcoming = outcome.summary.next_attempt
            when = datetime.fromtimestamp(upcoming, self.settings.zone) if upcoming else None
            now = self.now()
            self._add_followup(key, attempt, "deferred", max(when or now, now + timedelta(seconds=1)))

    def _keep_a_backup(self) -> None:
        """After an issue went out, a copy of the database (SQLite), the last few kept."""
        keep = self.settings.schedule.keep_backups
        if not keep or self.engine.dialect.name != "sqlite":
            return
        try:
            path = backup.backup(self.engine)
        except NewsletterError as exc:
            log.error("no backup after the send: %s", exc.message)
            return
        backup.prune(self.engine, keep)
        log.info("database backed up to %s", path)

    def _failed(self, run_id: int, key: str, attempt: int, message: str, hint: str | None) -> None:
        store.runs.finish(self.engine, run_id, RunOutcome.FAILED, message, key)
        self._alert_and_retry(key, attempt, message, hint)

    def _alert_and_retry(self, key: str, attempt: int, message: str, hint: str | None) -> None:
        now = self.now()
        retry_at = self._retry(key, attempt, now)
        if retry_at is not None:
            then = f"retrying at {_local(retry_at)}"
        elif self.stop_sending.is_set():
            then = "stopping; the next start tries again"
        else:
            then = "giving up for this period: no retry fits before it ends"
        log.error("issue %s: send failed: %s (%s)", key, message, then)
        # The first failure and the last, not every retry.
        if attempt == 0 or (retry_at is None and not self.stop_sending.is_set()):
            self._alert(key, message, hint, then)

    def _retry(self, key: str, attempt: int, now: datetime) -> datetime | None:
        """A one-off job after retry_minutes, doubling; None when that would leave the period."""
        if self.stop_sending.is_set():
            return None
        delay = timedelta(minutes=self.settings.schedule.retry_minutes * 2**attempt)
        when = now + delay
        row = store.issues.get(self.engine, key)
        part_sent = row is not None and row.state == IssueState.SENDING
        if period_for(when, self.settings.zone).key != key and not part_sent:
            return None
        self._add_followup(key, attempt + 1, "retry", when)
        return when

    def _alert(self, key: str, message: str, hint: str | None, then: str) -> None:
        admin = self.settings.sender.admin
        if not admin:
            log.warning("no alert sent: [sender] admin is not set")
            return
        try:
            send_alert(
                self.settings, admin, f"send of issue {key} failed", _alert_body(key, message, hint, then)
            )
        except NewsletterError as exc:
            log.error("cannot send the alert to %s: %s", admin, exc.message)
        else:
            log.info("alert sent to %s", admin)


def _alert_body(key: str, message: str, hint: str | None, then: str) -> str:
    lines = [f"The scheduled send of issue {key} failed:", "", f"  {message}"]
    if hint:
        lines.append(f"  hint: {hint}")
    lines += ["", f"The scheduler is {then}.", "`newsletter status` shows the last run."]
    return "\n".join(lines) + "\n"


def send_alert(settings: Settings, to: str, subject: str, body: str) -> None:
    """A short plain-text alert to ``to`` through the configured transport; DeliveryError when it cannot go."""
    send_note(settings, to, f"[{settings.newsletter.name}] {subject}", body)


def _since(kwargs: dict[str, object]) -> datetime:
    value = kwargs.get("since")
    return (
        datetime.fromisoformat(value)
        if isinstance(value, str) and value
        else datetime.min.replace(tzinfo=UTC)
    )


def _period_key(started_at: datetime, daemon: Daemon) -> str:
    moment = started_at if started_at.tzinfo else started_at.replace(tzinfo=UTC)
    return period_for(moment, daemon.settings.zone).key


def _local(moment: datetime) -> str:
    return f"{moment:%a %Y-%m-%d %H:%M:%S %Z}"
