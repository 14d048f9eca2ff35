"""Working days in Kazakhstan, for the terms in service passports.

Public holidays come from the `holidays` package (holidays.KZ, including
days off moved from weekends). Government decrees that move days off after
the package was released are configuration: EXTRA_DAYS_OFF and
EXTRA_WORKING_DAYS, lists of ISO dates.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import lru_cache

import holidays
from flask import current_app


@dataclass(frozen=True)
class WorkingCalendar:
    extra_days_off: frozenset[dt.date] = field(default_factory=frozenset)
    extra_working_days: frozenset[dt.date] = field(default_factory=frozenset)

    def is_working_day(self, day: dt.date) -> bool:
        if day in self.extra_working_days:
            return True
        if day in self.extra_days_off or day.weekday() >= 5:
            return False
        return day not in _public_holidays(day.year)

    def add(self, start: dt.date, working_days: int) -> dt.date:
        """The day a term of N working days ends; the term starts the day after `start`."""
        day = start
        remaining = working_days
        while remaining > 0:
            day += dt.timedelta(days=1)
            if self.is_working_day(day):
                remaining -= 1
        return day


@lru_cache(maxsize=16)
def _public_holidays(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("KZ", years=year)


def calendar() -> WorkingCalendar:
    """The calendar the portal is configured with."""
    config = current_app.config
    return WorkingCalendar(
        frozenset(dt.date.fromisoformat(d) for d in config["EXTRA_DAYS_OFF"]),
        frozenset(dt.date.fromisoformat(d) for d in config["EXTRA_WORKING_DAYS"]),
    )
