"""The scheduler's two entry points: run one job for a period, and catch up on missed runs.

A run:

1. works out its *period* from the moment it was due, in the network's time zone: the ISO
   week for a job that fires on one day a week (``digest:2026-W48``), otherwise the day
   (``followups:2026-11-23``);
2. *claims* that period (:mod:`bot.scheduling.runs`); a lost claim returns ``busy``;
3. skips the period in a school holiday, unless the job runs in holidays;
4. runs the job's body (:mod:`bot.scheduling.tasks`) while a keep-alive renews the claim. Every
   message goes through the outbox with an idempotency key, so a rerun of a period sends only
   what the last run did not, and a body cut short by a dropped database connection is simply
   run again on a fresh one.

APScheduler moves a job's next run time on *before* the job runs, so it never reruns a run that
crashed, and the clock's memory job store forgets a run missed while the clock was down.
:func:`catch_up` (every 15 minutes, and 75 s after start-up) closes both gaps: for each job
whose most recent due time is within :data:`CATCH_UP_GRACE` and whose period is not done, it
runs the job for that period.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import DBAPIError

from bot.config import SettingsError
from bot.delivery.leases import DB_ATTEMPTS, DB_WAITS, KeepAlive, is_disconnect
from bot.domain.time import aware
from bot.scheduling import tasks  # noqa: F401  (registers the jobs)
from bot.scheduling.registry import JOBS, Runtime, run_key, schedule_of
from bot.scheduling.runs import JOB_LEASE, SETTLED, claim_run, finish_run, job_run, new_holder
from bot.scheduling.schedules import last_due
from bot.services.calendar import holiday_on, local_date
from models import utcnow

log = logging.getLogger(__name__)

# How late a missed or failed run may still be made up.
CATCH_UP_GRACE = timedelta(hours=12)
CATCH_UP_EVERY = timedelta(minutes=15)


@dataclass
class JobResult:
    job: str
    run_key: str
    status: str  # done, incomplete, skipped (holiday), busy (another process has it), failed
    detail: str = ""


def run_job(rt: Runtime, name: str, due: datetime | None = None) -> JobResult:
    """Run job `name` for the period containing `due` (default now), unless it is done or running elsewhere."""
    if name not in JOBS:
        raise SettingsError(f"There is no job called {name!r}; the jobs are: {', '.join(JOBS)}")
    spec = JOBS[name]
    now = utcnow()
    due = due or now
    key = run_key(name, due, rt.settings)
    holder = new_holder()
    token = claim_run(rt.engine, key, holder, now)
    if token is None:
        log.info("job %s: %s is done or running elsewhere, skipping", name, key)
        return JobResult(name, key, "busy")
    try:
        holiday = None if spec.in_holidays else holiday_on(local_date(due, rt.settings), rt.settings)
    except BaseException:
        finish_run(rt.engine, key, token, "failed")
        raise
    if holiday is not None:
        finish_run(rt.engine, key, token, "skipped")
        log.info("job %s: %s is in a school holiday (%s), skipping", name, key, holiday.name or holiday.start)
        return JobResult(name, key, "skipped", f"school holiday {holiday.name}".strip())
    try:
        with KeepAlive(rt.engine, JOB_LEASE, key, token) as alive:
            incomplete, detail = _body_with_reconnects(spec, rt, now, key, holder)
    except BaseException:
        # The keep-alive has stopped, so its token is final.
        finish_run(rt.engine, key, alive.current(), "failed")
        log.exception("job %s: %s failed; the next catch-up will carry on where it stopped", name, key)
        raise
    status = "incomplete" if incomplete else "done"
    if not finish_run(rt.engine, key, alive.current(), status):
        log.warning("job %s: %s was taken over by another process while it ran", name, key)
    log.info("job %s: %s %s (%s)", name, key, status, detail)
    return JobResult(name, key, status, detail)


def _body_with_reconnects(spec, rt: Runtime, now: datetime, key: str, holder: str) -> tuple[bool, str]:
    """The job's body; run again (it is idempotent) if the database connection drops under it."""
    for attempt in range(DB_ATTEMPTS):
        try:
            return spec.body(rt, now, key, holder)
        except DBAPIError as error:
            if not is_disconnect(error) or attempt == DB_ATTEMPTS - 1:
                raise
            log.warning("job %s: database connection lost; reconnecting and carrying on", spec.name)
            time.sleep(DB_WAITS[min(attempt, len(DB_WAITS) - 1)])
    raise AssertionError("unreachable")


def catch_up(rt: Runtime, names: tuple[str, ...] | None = None) -> list[JobResult]:
    """Run any job (of `names`, default all) whose latest due time is recent and whose period is not settled."""
    now = utcnow()
    results = []
    for name in names or tuple(JOBS):
        schedule = schedule_of(name, rt.settings)
        if schedule is None:
            continue
        due = last_due(schedule, rt.settings.zone, now, CATCH_UP_GRACE)
        if due is None:
            continue
        key = run_key(name, due, rt.settings)
        row = job_run(rt.engine, key)
        if row is not None and row.status in SETTLED:
            continue
        if row is not None and row.status == "running" and aware(row.started_at) >= now - JOB_LEASE.duration:
            continue  # alive: its holder renewed the lease within the last minute
        log.info("catch-up: %s was due at %s and is not done", name, due.isoformat())
        try:
            results.append(run_job(rt, name, due))
        except Exception:  # logged by run_job; one job's failure must not stop the others catching up
            results.append(JobResult(name, key, "failed"))
    return results
