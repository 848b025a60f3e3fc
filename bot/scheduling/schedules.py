"""When a job fires: a setting like ``mon 07:30`` parsed into a cron trigger in the network's zone.

Every computation here is on aware instants compared and advanced in UTC. Adding a second to a
local time is wall-clock arithmetic: in the hour repeated when the clocks go back, 01:30 GMT plus
one second came out as 01:30:01 BST (an hour *earlier*) and :func:`last_due` never finished.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from bot.config import SettingsError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# The environment variable behind each schedule setting (for messages that name it).
ENV = {"round_cron": "COLLAB_ROUND_AT", "digest_cron": "COLLAB_DIGEST_AT", "followups_cron": "COLLAB_FOLLOWUPS_AT"}


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


def next_due(schedule: Schedule, zone, after: datetime) -> datetime | None:
    """The first firing strictly after `after` (an aware instant), as an aware UTC instant."""
    trigger = schedule.trigger(zone)
    start = (after.astimezone(timezone.utc) + timedelta(seconds=1)).astimezone(zone)
    fire = trigger.get_next_fire_time(None, start)
    return None if fire is None else fire.astimezone(timezone.utc)


def last_due(schedule: Schedule, zone, now: datetime, grace: timedelta) -> datetime | None:
    """The latest firing at or before `now`, if within `grace`: an aware UTC instant, or None."""
    now = now.astimezone(timezone.utc)
    moment = next_due(schedule, zone, now - grace - timedelta(seconds=1))
    latest = None
    while moment is not None and moment <= now:
        latest = moment
        following = next_due(schedule, zone, moment)
        if following is not None and following <= moment:  # never go round in circles
            break
        moment = following
    return latest
