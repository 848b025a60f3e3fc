"""The school calendar: school years, half-terms and holidays, in the network's time zone.

A school year starts on 1 September. School holidays come from an optional term-dates file
(``COLLAB_TERM_DATES``), one holiday a line::

    # Comments and blank lines are ignored. Dates are inclusive, in COLLAB_TIMEZONE.
    2026-10-26,2026-10-30,October half-term
    2026-12-21,2027-01-01,Christmas

A line that is not ``YYYY-MM-DD,YYYY-MM-DD`` (with an optional name after a second comma),
or whose end is before its start, is a :class:`~bot.config.SettingsError` naming the file
and line, so a typo is found at start-up rather than by a digest sent on Christmas Day.
"""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.config import Settings, SettingsError
from bot.domain.time import aware

# Without a term-dates file, half-terms are taken to start on these (month, day)s: close
# enough to every English local authority's calendar for "this half-term" in a digest.
APPROXIMATE_HALF_TERM_STARTS = ((9, 1), (11, 1), (1, 1), (2, 23), (4, 20), (6, 1))


@dataclass(frozen=True)
class Holiday:
    start: date
    end: date  # inclusive
    name: str = ""

    def __contains__(self, day: date) -> bool:
        return self.start <= day <= self.end


def parse_term_dates(text: str, source: str = "term dates") -> tuple[Holiday, ...]:
    holidays = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = [p.strip() for p in line.split(",", 2)]
        where = f"{source} line {number} ({line[:60]!r})"
        if len(parts) < 2:
            raise SettingsError(f"{where}: expected START,END[,name] with dates as YYYY-MM-DD")
        try:
            start, end = date.fromisoformat(parts[0]), date.fromisoformat(parts[1])
        except ValueError:
            raise SettingsError(f"{where}: dates must be YYYY-MM-DD, e.g. 2026-10-26,2026-10-30") from None
        if len(parts[0]) != 10 or len(parts[1]) != 10:
            raise SettingsError(f"{where}: dates must be YYYY-MM-DD, e.g. 2026-10-26,2026-10-30")
        if end < start:
            raise SettingsError(f"{where}: the holiday ends before it starts")
        holidays.append(Holiday(start, end, parts[2] if len(parts) > 2 else ""))
    return tuple(sorted(holidays, key=lambda h: h.start))


@functools.lru_cache(maxsize=8)
def _load(path: str, mtime: float) -> tuple[Holiday, ...]:
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as error:
        raise SettingsError(f"COLLAB_TERM_DATES: can't read {path}: {error.strerror or error}") from None
    return parse_term_dates(text, source=path)


def holidays(settings: Settings) -> tuple[Holiday, ...]:
    """The configured holidays (none without a file); re-read when the file changes."""
    path = settings.term_dates_file
    if not path:
        return ()
    try:
        mtime = os.stat(path).st_mtime
    except OSError as error:
        raise SettingsError(f"COLLAB_TERM_DATES: can't read {path}: {error.strerror or error}") from None
    return _load(path, mtime)


def local_date(moment: datetime, settings: Settings) -> date:
    return aware(moment).astimezone(settings.zone).date()


def holiday_on(day: date, settings: Settings) -> Holiday | None:
    for holiday in holidays(settings):
        if day in holiday:
            return holiday
    return None


def start_of_day(day: date, zone: ZoneInfo) -> datetime:
    """Local midnight of `day`, as aware UTC."""
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(timezone.utc)


def school_year_start(now: datetime, settings: Settings) -> datetime:
    """1 September (local midnight) of the school year `now` is in, as aware UTC."""
    today = local_date(now, settings)
    year = today.year if today.month >= 9 else today.year - 1
    return start_of_day(date(year, 9, 1), settings.zone)


def half_term_start(now: datetime, settings: Settings) -> datetime:
    """The first day of the current half-term: the day after the last holiday, or an approximation."""
    today = local_date(now, settings)
    ended = [h.end for h in holidays(settings) if h.end < today]
    if ended:
        start = max(ended) + timedelta(days=1)
        if (today - start).days <= 120:
            return start_of_day(start, settings.zone)
    candidates = [
        date(year, month, day)
        for year in (today.year - 1, today.year)
        for month, day in APPROXIMATE_HALF_TERM_STARTS
    ]
    return start_of_day(max(d for d in candidates if d <= today), settings.zone)


def iso_week(moment: datetime, settings: Settings) -> str:
    """`2026-W48`: the ISO week of `moment` in the network's time zone."""
    year, week, _ = local_date(moment, settings).isocalendar()
    return f"{year}-W{week:02d}"

