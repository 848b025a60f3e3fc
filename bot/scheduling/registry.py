"""The job table: a job is one function and one ``@job(...)`` line (see bot/scheduling/tasks.py).

Each entry says which setting holds its schedule and whether it runs in school holidays. The
:class:`Runtime` (settings, engine, messenger) is built by the entry point (bot/cli/rhythm.py) and
passed to every run: there is no module-level runtime to configure or forget.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from sqlalchemy.engine import Engine

from bot.config import Settings
from bot.scheduling.schedules import ENV, Schedule, parse_schedule
from bot.services.calendar import iso_week, local_date


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    messenger: object  # bot.delivery.outbox.Messenger


# A job's body: (runtime, now, run_key, holder) -> (incomplete?, a line for the log).
Body = Callable[[Runtime, datetime, str, str], tuple[bool, str]]


@dataclass(frozen=True)
class Job:
    name: str
    setting: str        # the Settings attribute holding its schedule
    title: str
    in_holidays: bool   # run in school holidays?
    body: Body

    @property
    def env(self) -> str:
        return ENV[self.setting]


JOBS: dict[str, Job] = {}


def job(name: str, setting: str, title: str, *, in_holidays: bool = False) -> Callable[[Body], Body]:
    """Register the decorated function as the job `name`, scheduled by the setting `setting`."""

    def register(body: Body) -> Body:
        if name in JOBS:
            raise ValueError(f"two jobs are called {name!r}")
        JOBS[name] = Job(name, setting, title, in_holidays, body)
        return body

    return register


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
