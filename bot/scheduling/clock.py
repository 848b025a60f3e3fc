"""`collab clock`: the scheduler process (the Procfile's `clock`).

An APScheduler 3 scheduler in the network's time zone. Its jobs live in memory and are added
from the settings at every start, each with the :class:`~bot.scheduling.registry.Runtime` as its
argument (so no module holds a runtime, and nothing is pickled). Nothing is lost by not storing
them: the database's claim table (``jobrun``) already knows which periods ran, and
:func:`~bot.scheduling.jobs.catch_up`, 75 s after start-up and every 15 minutes, runs whatever
was due recently and is not done. A table ``apscheduler_jobs`` left by versions that used
APScheduler's SQLAlchemy job store is no longer read and may be dropped. Two clocks never both run
a period (see :mod:`bot.scheduling.runs`); how to run the clock is in docs/scheduling.md.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

from bot.config import Settings
from bot.scheduling import jobs
from bot.scheduling.registry import JOBS, Runtime, schedule_of
from bot.scheduling.runs import JOB_LEASE

log = logging.getLogger(__name__)

CATCH_UP_ID = "catch_up"
# The first catch-up after start-up waits out one job lease (plus a little), so a run left by a
# clock that was killed just before this one started is already free to take over.
CATCH_UP_DELAY = JOB_LEASE.duration + timedelta(seconds=15)


def job_defaults() -> dict:
    return {
        # A clock that was down for several firings runs a job once, not once per firing.
        "coalesce": True,
        "max_instances": 1,
        # APScheduler may still start a late job within the grace; catch_up covers the rest.
        "misfire_grace_time": int(jobs.CATCH_UP_GRACE.total_seconds()),
    }


def make_scheduler(settings: Settings, scheduler_class=None):
    """A scheduler (BlockingScheduler unless told otherwise) with an in-memory job store."""
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.schedulers.blocking import BlockingScheduler

    scheduler_class = scheduler_class or BlockingScheduler
    return scheduler_class(executors={"default": ThreadPoolExecutor(4)}, job_defaults=job_defaults(),
                           timezone=settings.zone)


def install_jobs(scheduler, rt: Runtime, now: datetime | None = None) -> list[str]:
    """Add every job the settings switch on, and the catch-up. Returns the ids scheduled."""
    from apscheduler.triggers.interval import IntervalTrigger

    settings = rt.settings
    installed = []
    for name, spec in JOBS.items():
        schedule = schedule_of(name, settings)
        if schedule is None:
            log.info("clock: %s is switched off (%s=off)", name, spec.env)
            continue
        scheduler.add_job(jobs.run_job, schedule.trigger(settings.zone), args=(rt, name), id=name,
                          name=spec.title, replace_existing=True)
        installed.append(name)
    # First just after a lease has run out (a run missed or killed while the clock was down), then
    # every 15 minutes.
    now = now or datetime.now(settings.zone)
    scheduler.add_job(
        jobs.catch_up, IntervalTrigger(seconds=int(jobs.CATCH_UP_EVERY.total_seconds()), timezone=settings.zone),
        args=(rt,), id=CATCH_UP_ID, name="Make up missed or failed runs", replace_existing=True,
        next_run_time=now + CATCH_UP_DELAY,
    )
    installed.append(CATCH_UP_ID)
    return installed


def describe(settings: Settings, now: datetime | None = None) -> list[str]:
    """One line per job: its schedule and when it next fires, in local time and UTC."""
    now = now or datetime.now(settings.zone)
    lines = []
    width = max(len(name) for name in JOBS) + 1
    for name, spec in JOBS.items():
        schedule = schedule_of(name, settings)
        if schedule is None:
            lines.append(f"{name:<{width}} off ({spec.env}=off)")
            continue
        fire = schedule.trigger(settings.zone).get_next_fire_time(None, now.astimezone(settings.zone))
        holidays = "runs in holidays" if spec.in_holidays else "skips holidays"
        lines.append(
            f"{name:<{width}} {str(schedule):<16} next {fire:%a %d %b %Y %H:%M %Z} "
            f"({fire.astimezone(timezone.utc):%H:%M} UTC); {holidays}; {spec.title}"
        )
    return lines


def check(settings: Settings) -> None:
    """Stop before starting on a bad term-dates file or a bad schedule, naming the line or setting."""
    from bot.services.calendar import holidays

    holidays(settings)
    for name in JOBS:
        schedule_of(name, settings)
    if not settings.review_channel:
        log.warning("COLLAB_REVIEW_CHANNEL is not set: rounds will run but their review cards can't be posted")


def run_clock(rt: Runtime) -> int:
    """Run the scheduler until SIGTERM/SIGINT (blocking). The caller builds and disposes the runtime."""
    import signal

    scheduler = make_scheduler(rt.settings)
    install_jobs(scheduler, rt)

    def stop(signum, _frame):
        log.info("clock: signal %s, finishing running jobs and stopping", signum)
        scheduler.shutdown(wait=True)

    signal.signal(signal.SIGTERM, stop)
    for line in describe(rt.settings):
        log.info("clock: %s", line)
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass
    return 0
