"""`collab clock`: the scheduler process (the Procfile's `clock`).

An APScheduler 3 scheduler in the network's time zone, with its jobs kept in the same
database as everything else (``SQLAlchemyJobStore``, table ``apscheduler_jobs``) so they
survive a restart. Every job is added with a stable id and ``replace_existing=True``, so a
restart (or a second clock process) updates the schedule rather than duplicating it, and a
changed ``COLLAB_*_AT`` setting takes effect on the next start. What each job does, and why
two clocks never both run one, is in :mod:`bot.scheduling.jobs`; how to run it is in docs/scheduling.md.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine

from bot.scheduling import jobs
from bot.config import Settings

log = logging.getLogger(__name__)

JOBSTORE_TABLE = "apscheduler_jobs"
CATCH_UP_ID = "catch_up"
CATCH_UP_DELAY = timedelta(minutes=1)


def job_defaults() -> dict:
    return {
        # A clock that was down for several firings runs a job once, not once per firing.
        "coalesce": True,
        "max_instances": 1,
        # APScheduler may still start a late job within the grace; catch_up covers the rest.
        "misfire_grace_time": int(jobs.CATCH_UP_GRACE.total_seconds()),
    }


def make_scheduler(settings: Settings, engine: Engine, scheduler_class=None):
    """A scheduler (BlockingScheduler unless told otherwise) with the persistent job store."""
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.blocking import BlockingScheduler

    scheduler_class = scheduler_class or BlockingScheduler
    return scheduler_class(
        jobstores={"default": SQLAlchemyJobStore(engine=engine, tablename=JOBSTORE_TABLE)},
        executors={"default": ThreadPoolExecutor(4)},
        job_defaults=job_defaults(),
        timezone=settings.zone,
    )


def install_jobs(scheduler, settings: Settings, now: datetime | None = None) -> list[str]:
    """Add (or replace) every job from the settings; remove jobs switched ``off``. Returns the ids scheduled."""
    from apscheduler.events import EVENT_SCHEDULER_START
    from apscheduler.jobstores.base import JobLookupError
    from apscheduler.triggers.interval import IntervalTrigger

    installed, switched_off = [], []
    for name, spec in jobs.JOBS.items():
        schedule = jobs.schedule_of(name, settings)
        if schedule is None:
            switched_off.append(name)
            continue
        scheduler.add_job(
            jobs.ENTRY_POINTS[name], schedule.trigger(settings.zone), id=name, name=spec.title,
            replace_existing=True,
        )
        installed.append(name)

    def remove_switched_off(_event=None) -> None:
        # A job switched off may be in the job store from an earlier start: only a started
        # scheduler can see (and remove) it, so this runs once the store is open.
        for name in switched_off:
            try:
                scheduler.remove_job(name)
                log.info("clock: %s is switched off; removed it from the schedule", name)
            except JobLookupError:
                pass

    if scheduler.running:
        remove_switched_off()
    else:
        scheduler.add_listener(remove_switched_off, EVENT_SCHEDULER_START)
    # First a minute after start-up (a run missed while the clock was down), then every 15 minutes.
    now = now or datetime.now(settings.zone)
    scheduler.add_job(
        jobs.catch_up, IntervalTrigger(seconds=int(jobs.CATCH_UP_EVERY.total_seconds()), timezone=settings.zone),
        id=CATCH_UP_ID, name="Make up missed or failed runs", replace_existing=True,
        next_run_time=now + CATCH_UP_DELAY,
    )
    installed.append(CATCH_UP_ID)
    return installed


def describe(settings: Settings, now: datetime | None = None) -> list[str]:
    """One line per job: its schedule and when it next fires, in local time and UTC."""
    from datetime import timezone

    now = now or datetime.now(settings.zone)
    lines = []
    width = max(len(name) for name in jobs.JOBS) + 1
    for name, spec in jobs.JOBS.items():
        schedule = jobs.schedule_of(name, settings)
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


def run_clock(settings: Settings) -> int:
    """Run the scheduler until SIGTERM/SIGINT (blocking)."""
    import signal

    from bot.slack.app import make_client
    from bot.slack.messenger import SlackMessenger
    from bot.services.calendar import holidays
    from models.db import make_engine

    settings.require("SLACK_BOT_TOKEN")
    holidays(settings)  # a bad term-dates file stops the clock now, naming the line
    for name in jobs.JOBS:
        jobs.schedule_of(name, settings)  # and so does a bad schedule
    if not settings.review_channel:
        log.warning("COLLAB_REVIEW_CHANNEL is not set: rounds will run but their review cards can't be posted")
    engine = make_engine(settings.database_url)
    jobs.configure(settings, engine, SlackMessenger(make_client(settings)))
    scheduler = make_scheduler(settings, engine)
    install_jobs(scheduler, settings)

    def stop(signum, _frame):
        log.info("clock: signal %s, finishing running jobs and stopping", signum)
        scheduler.shutdown(wait=True)

    signal.signal(signal.SIGTERM, stop)
    for line in describe(settings):
        log.info("clock: %s", line)
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        engine.dispose()
    return 0
