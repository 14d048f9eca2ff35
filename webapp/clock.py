"""The portal's one clock: every "now" it records or shows comes from here.

Real time, or, when the day is pinned (FIXED_TODAY: `QYZMET_TODAY` in the
sandbox, 23 November 2026 in the tests), that day at the current time of day
in Kazakhstan. Registry facts (a child's age), due dates, signing stamps,
hearing and objection windows, operator actions and jobs then all agree on the
day, so a decision can never be due before the application was signed.

A pinned day repeats: at midnight in Kazakhstan the clock starts the same day
again, so a moment stamped just before midnight reads as later than one just
after. That is the price of a day that never changes; only the sandbox and the
tests pin one (production has no FIXED_TODAY).

`wall_now()` is the machine's time, for what real clocks outside the portal
date (certificates, CRLs and OCSP answers: a key is valid in real time whatever
day the sandbox pins), for a browser cookie's life, and for counters that must
only grow. tests/test_one_clock.py keeps every other reading of a clock in
webapp/ coming through here.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context


def wall_now() -> dt.datetime:
    """The machine's time (UTC), whatever day the portal pins."""
    return dt.datetime.now(dt.timezone.utc)


def zone() -> ZoneInfo:
    """Kazakhstan's time zone, in which the portal's days begin and end."""
    return ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])


def _pinned() -> dt.date | None:
    fixed = current_app.config.get("FIXED_TODAY") if has_app_context() else None
    return dt.date.fromisoformat(fixed) if fixed else None


def now() -> dt.datetime:
    """Now (UTC): the pinned day at the current time of day in Kazakhstan, or real time.

    Outside an application there is no pinned day, so it is real time.
    """
    real = wall_now()
    day = _pinned()
    if day is None:
        return real
    return on_day(day, real)


def today() -> dt.date:
    """Today in Kazakhstan: the day `now()` falls on."""
    return day_of(now())


def day_of(moment: dt.datetime) -> dt.date:
    """The day a moment falls on in Kazakhstan (a naive moment is UTC, as SQLite returns them)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(zone()).date()


def on_day(day: dt.date, moment: dt.datetime) -> dt.datetime:
    """The moment at the same time of day in Kazakhstan, on another day (UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    local = moment.astimezone(zone())
    return dt.datetime.combine(day, local.timetz()).astimezone(dt.timezone.utc)
