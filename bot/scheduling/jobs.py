"""The scheduled jobs: what runs when, and how each run is made safe.

Each job is a module-level function (so APScheduler's persistent job store can save a
reference to it and find it again after a restart) that calls :func:`run_job`. A run:

1. works out its *period* from the moment it was due, in the network's time zone: the ISO
   week for a job that fires on one day a week (``digest:2026-W48``), otherwise the day
   (``followups:2026-11-23``);
2. *claims* that period by inserting a :class:`~models.JobRun` row with the period's
   ``run_key`` (unique). The insert that wins runs; any other clock process gets
   ``busy`` and does nothing. A row left ``running`` by a process that died is taken over
   once it is older than :data:`JOB_LEASE`; a row that ended ``failed`` (an exception) or
   ``incomplete`` (Slack was unreachable for some messages) is taken over at once;
3. skips the period in a school holiday, for digests and nudges (rounds still run: the
   proposals just wait for a lead, and nothing reaches staff until a lead approves one);
4. sends every message through the outbox (:func:`bot.delivery.outbox.send_once`) with an
   idempotency key, so a rerun of a period sends only what the last run did not.

APScheduler moves a job's next run time on *before* the job runs, so it never reruns a run
that crashed, and a restart with ``replace_existing`` forgets a run missed while the clock
was down. :func:`catch_up` (every 15 minutes, and at start-up) closes both gaps: for each job
whose most recent due time is within :data:`CATCH_UP_GRACE` and whose period is not done, it
runs the job for that period.
"""
from __future__ import annotations

import logging
import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy import and_, or_, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from bot.config import Settings, SettingsError
from bot.domain.time import aware
from bot.services import workspaces
from bot.services.calendar import holiday_on, iso_week, local_date
from models import JobRun, Workspace, utcnow
from models.db import session_scope

log = logging.getLogger(__name__)

# A run still marked running after this long is taken to have died with its process. Taking
# over a run that is in fact still going is safe (the outbox sends each message once); it
# only means two processes share the work.
JOB_LEASE = timedelta(hours=1)
# How late a missed or failed run may still be made up.
CATCH_UP_GRACE = timedelta(hours=12)
CATCH_UP_EVERY = timedelta(minutes=15)

RETAKE_AT_ONCE = ("failed", "incomplete")
SETTLED = ("done", "skipped")

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


# --------------------------------------------------------------------------- schedules

@dataclass(frozen=True)
class Schedule:
    """When a job fires, parsed from a setting like ``mon 07:30`` or ``daily 09:00``."""

    day_of_week: str  # APScheduler's cron field: "mon", "mon,thu", "mon-fri" or "*"
    hour: int
    minute: int

    @property
    def weekly(self) -> bool:
        return self.day_of_week in DAYS

    def trigger(self, zone):
        from apscheduler.triggers.cron import CronTrigger

        return CronTrigger(day_of_week=self.day_of_week, hour=self.hour, minute=self.minute, timezone=zone)

    def __str__(self) -> str:
        days = {"*": "daily", "mon-fri": "weekdays"}.get(self.day_of_week, self.day_of_week)
        return f"{days} {self.hour:02d}:{self.minute:02d}"


def parse_schedule(value: str, setting: str) -> Schedule | None:
    """``DAYS HH:MM`` in the network's time zone, or ``off``.

    DAYS is ``daily``, ``weekdays``, or days of the week separated by commas (``mon``,
    ``mon,thu``; full names like ``monday`` work too). HH:MM is on the 24-hour clock.
    """
    raw = " ".join((value or "").lower().split())
    if raw in ("off", "never", "none"):
        return None
    problem = SettingsError(
        f"{setting} must look like 'mon 08:00', 'mon,thu 07:30', 'weekdays 09:00', 'daily 09:00' or 'off', "
        f"got {value!r}"
    )
    parts = raw.split(" ")
    if len(parts) != 2:
        raise problem
    days, clock = parts
    if days in ("daily", "everyday", "*"):
        day_of_week = "*"
    elif days == "weekdays":
        day_of_week = "mon-fri"
    else:
        names = [d[:3] for d in days.split(",")]
        if not names or any(n not in DAYS for n in names) or any(
                len(d) > 3 and not _full_day(d) for d in days.split(",")):
            raise problem
        day_of_week = ",".join(sorted(set(names), key=DAYS.index))
    hour, _, minute = clock.partition(":")
    if not (hour.isdigit() and minute.isdigit() and len(minute) == 2 and int(hour) < 24 and int(minute) < 60):
        raise problem
    return Schedule(day_of_week, int(hour), int(minute))


def _full_day(word: str) -> bool:
    return word in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
                    "tues", "weds", "thur", "thurs")


# --------------------------------------------------------------------------- the runtime

@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    messenger: object  # bot.delivery.outbox.Messenger


_runtime: Runtime | None = None


def configure(settings: Settings, engine: Engine, messenger) -> Runtime:
    """What the jobs use: set by the clock at start-up (and by tests)."""
    global _runtime
    _runtime = Runtime(settings, engine, messenger)
    return _runtime


def runtime() -> Runtime:
    """The configured runtime, or one built from the environment (a job started some other way)."""
    if _runtime is None:
        from bot.slack.app import make_client
        from bot.config import load_settings
        from bot.slack.messenger import SlackMessenger
        from models.db import make_engine

        settings = load_settings().require("SLACK_BOT_TOKEN")
        configure(settings, make_engine(settings.database_url), SlackMessenger(make_client(settings)))
    return _runtime


def _holder() -> str:
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


# --------------------------------------------------------------------------- claims

def claim_run(engine: Engine, run_key: str, holder: str, now: datetime | None = None, lease: timedelta = JOB_LEASE) -> bool:
    """True if this caller now holds `run_key`: it inserted the row, or took over a dead or failed run."""
    now = now or utcnow()
    with Session(engine) as session:
        try:
            session.add(JobRun(run_key=run_key, holder=holder, started_at=now, status="running"))
            session.commit()
            return True
        except IntegrityError:
            session.rollback()
        taken = session.exec(
            update(JobRun)
            .where(
                JobRun.run_key == run_key,
                or_(
                    JobRun.status.in_(RETAKE_AT_ONCE),
                    and_(JobRun.status == "running", JobRun.started_at < now - lease),
                ),
            )
            .values(holder=holder, started_at=now, finished_at=None, status="running")
        ).rowcount
        session.commit()
        return taken == 1


def finish_run(engine: Engine, run_key: str, holder: str, status: str) -> None:
    """Record how the run ended, unless another process has taken it over meanwhile."""
    with Session(engine) as session:
        session.exec(
            update(JobRun)
            .where(JobRun.run_key == run_key, JobRun.holder == holder)
            .values(status=status, finished_at=utcnow())
        )
        session.commit()


def mark_step(session: Session, step_key: str, holder: str) -> bool:
    """Record a step as done inside the caller's transaction: False if it was done before.

    The marker commits or rolls back with the work it guards, so a step (a round's proposals)
    happens exactly once however often its job is rerun.
    """
    try:
        with session.begin_nested():
            session.add(JobRun(run_key=step_key, holder=holder, status="done", finished_at=utcnow()))
        return True
    except IntegrityError:
        return False


def job_run(engine: Engine, run_key: str) -> JobRun | None:
    with Session(engine) as session:
        return session.exec(select(JobRun).where(JobRun.run_key == run_key)).first()


# --------------------------------------------------------------------------- the jobs' work

def installed_workspaces(engine: Engine) -> list[Workspace]:
    with session_scope(engine) as session:
        return workspaces.installed_workspaces(session)


def _round_services():
    from bot.delivery.pairings import post_review_cards
    from bot.services.rounds import propose_round

    return propose_round, post_review_cards


def _round(rt: Runtime, now: datetime, run_key: str, holder: str) -> tuple[bool, str]:
    propose_round, post_review_cards = _round_services()
    incomplete, notes = False, []
    for workspace in installed_workspaces(rt.engine):
        with session_scope(rt.engine) as session:
            workspace = session.get(Workspace, workspace.id)
            if mark_step(session, f"{run_key}:ws{workspace.id}", holder):
                round_ = propose_round(session, workspace, rt.settings, started_by="scheduler")
                notes.append(f"{workspace.team_id}: {round_.proposals} proposed")
        cards = post_review_cards(rt.engine, rt.messenger, workspace, rt.settings) or {}
        incomplete |= bool(cards.get("waiting"))
        notes.append(f"{workspace.team_id} cards: {cards}")
    return incomplete, "; ".join(notes)


def _per_workspace(send: Callable) -> Callable:
    def body(rt: Runtime, now: datetime, run_key: str, holder: str) -> tuple[bool, str]:
        incomplete, notes = False, []
        for workspace in installed_workspaces(rt.engine):
            summary = send(rt.engine, rt.messenger, workspace, now, rt.settings)
            incomplete |= summary.incomplete
            notes.append(f"{workspace.team_id}: {summary}")
        return incomplete, "; ".join(notes)

    return body


def _digests(engine, messenger, workspace, now, settings):
    from bot.delivery.digests import send_digests

    return send_digests(engine, messenger, workspace, now, settings)


def _reciprocity(engine, messenger, workspace, now, settings):
    from bot.delivery.reciprocity import send_reciprocity_invitations

    return send_reciprocity_invitations(engine, messenger, workspace, now, settings)


def _expiry(engine, messenger, workspace, now, settings):
    from bot.services.expiry import expire_unanswered
    from bot.delivery.expiry import send_expiry_prompts

    with session_scope(engine) as session:
        expired = expire_unanswered(session, session.get(Workspace, workspace.id), now, settings)
    summary = send_expiry_prompts(engine, messenger, workspace, now, settings)
    if expired:
        summary.outcomes["expired"] = expired
    return summary


def _review_reminders(engine, messenger, workspace, now, settings):
    from bot.delivery.reminders import send_review_reminders

    return send_review_reminders(engine, messenger, workspace, now, settings)


def _followups(rt: Runtime, now: datetime, run_key: str, holder: str) -> tuple[bool, str]:
    from bot.delivery.followups import send_due_followups

    return False, f"{send_due_followups(rt.engine, rt.messenger, now, rt.settings)} follow-ups"


def _feedback(rt: Runtime, now: datetime, run_key: str, holder: str) -> tuple[bool, str]:
    from bot.delivery.followups import send_due_feedback_requests

    return False, f"{send_due_feedback_requests(rt.engine, rt.messenger, now, rt.settings)} feedback requests"


@dataclass(frozen=True)
class JobSpec:
    name: str
    setting: str        # the Settings attribute holding its schedule
    env: str            # the environment variable that sets it
    body: Callable
    in_holidays: bool   # run in school holidays?
    title: str


JOBS: dict[str, JobSpec] = {
    spec.name: spec for spec in (
        JobSpec("round", "round_cron", "COLLAB_ROUND_AT", _round, True, "Matching round and review cards"),
        JobSpec("digest", "digest_cron", "COLLAB_DIGEST_AT", _per_workspace(_digests), False, "Weekly digest"),
        JobSpec("followups", "followups_cron", "COLLAB_FOLLOWUPS_AT", _followups, False, "Follow-up nudges"),
        JobSpec("feedback", "followups_cron", "COLLAB_FOLLOWUPS_AT", _feedback, False, "Feedback requests"),
        JobSpec("reciprocity", "followups_cron", "COLLAB_FOLLOWUPS_AT", _per_workspace(_reciprocity), False,
                "Reciprocity invitations"),
        JobSpec("expiry", "followups_cron", "COLLAB_FOLLOWUPS_AT", _per_workspace(_expiry), False,
                "Still needed? prompts and expiry"),
        JobSpec("review_reminders", "followups_cron", "COLLAB_FOLLOWUPS_AT", _per_workspace(_review_reminders), False,
                "Review reminders to leads"),
    )
}


def schedule_of(name: str, settings: Settings) -> Schedule | None:
    spec = JOBS[name]
    return parse_schedule(getattr(settings, spec.setting), spec.env)


def period(name: str, moment: datetime, settings: Settings) -> str:
    """The period a run at `moment` belongs to: the ISO week for once-a-week jobs, else the day."""
    schedule = schedule_of(name, settings)
    if schedule is not None and schedule.weekly:
        return iso_week(moment, settings)
    return local_date(moment, settings).isoformat()


def run_key(name: str, moment: datetime, settings: Settings) -> str:
    return f"{name}:{period(name, moment, settings)}"


@dataclass
class JobResult:
    job: str
    run_key: str
    status: str  # done, incomplete, skipped (holiday), busy (another process has it), failed
    detail: str = ""


def run_job(name: str, due: datetime | None = None) -> JobResult:
    """Run job `name` for the period containing `due` (default now), unless it is done or running elsewhere."""
    if name not in JOBS:
        raise SettingsError(f"There is no job called {name!r}; the jobs are: {', '.join(JOBS)}")
    spec = JOBS[name]
    rt = runtime()
    now = utcnow()
    due = due or now
    key = run_key(name, due, rt.settings)
    holder = _holder()
    if not claim_run(rt.engine, key, holder, now):
        log.info("job %s: %s is done or running elsewhere, skipping", name, key)
        return JobResult(name, key, "busy")
    try:
        holiday = None if spec.in_holidays else holiday_on(local_date(due, rt.settings), rt.settings)
        if holiday is not None:
            finish_run(rt.engine, key, holder, "skipped")
            log.info("job %s: %s is in a school holiday (%s), skipping", name, key, holiday.name or holiday.start)
            return JobResult(name, key, "skipped", f"school holiday {holiday.name}".strip())
        incomplete, detail = spec.body(rt, now, key, holder)
    except BaseException:
        finish_run(rt.engine, key, holder, "failed")
        log.exception("job %s: %s failed; the next catch-up will carry on where it stopped", name, key)
        raise
    status = "incomplete" if incomplete else "done"
    finish_run(rt.engine, key, holder, status)
    log.info("job %s: %s %s (%s)", name, key, status, detail)
    return JobResult(name, key, status, detail)


# --------------------------------------------------------------------------- APScheduler's entry points

def weekly_round() -> None:
    run_job("round")


def weekly_digest() -> None:
    run_job("digest")


def daily_followups() -> None:
    run_job("followups")


def daily_feedback() -> None:
    run_job("feedback")


def daily_reciprocity() -> None:
    run_job("reciprocity")


def daily_expiry() -> None:
    run_job("expiry")


def daily_review_reminders() -> None:
    run_job("review_reminders")


ENTRY_POINTS: dict[str, Callable[[], None]] = {
    "round": weekly_round,
    "digest": weekly_digest,
    "followups": daily_followups,
    "feedback": daily_feedback,
    "reciprocity": daily_reciprocity,
    "expiry": daily_expiry,
    "review_reminders": daily_review_reminders,
}


def last_due(schedule: Schedule, zone, now: datetime, grace: timedelta = CATCH_UP_GRACE) -> datetime | None:
    """The latest time the schedule fired at or before `now`, if within `grace`."""
    trigger = schedule.trigger(zone)
    moment = trigger.get_next_fire_time(None, (now - grace).astimezone(zone))
    latest = None
    while moment is not None and moment <= now:
        latest = moment
        moment = trigger.get_next_fire_time(moment, moment + timedelta(seconds=1))
    return latest


def catch_up(names: tuple[str, ...] | None = None) -> list[JobResult]:
    """Run any job (of `names`, default all) whose latest due time is recent and whose period is not settled."""
    rt = runtime()
    now = utcnow()
    results = []
    for name in names or tuple(JOBS):
        schedule = schedule_of(name, rt.settings)
        if schedule is None:
            continue
        due = last_due(schedule, rt.settings.zone, now)
        if due is None:
            continue
        row = job_run(rt.engine, run_key(name, due, rt.settings))
        if row is not None and row.status in SETTLED:
            continue
        if row is not None and row.status == "running" and aware(row.started_at) >= now - JOB_LEASE:
            continue
        log.info("catch-up: %s was due at %s and is not done", name, due.isoformat())
        try:
            results.append(run_job(name, due))
        except Exception:  # logged by run_job; one job's failure must not stop the others catching up
            results.append(JobResult(name, run_key(name, due, rt.settings), "failed"))
    return results

