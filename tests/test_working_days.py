"""Working days in Kazakhstan: weekends, public holidays and configured transfers."""

import datetime as dt

from webapp.working_days import WorkingCalendar

D = dt.date.fromisoformat


def test_eight_working_days_from_the_sandbox_today():
    assert WorkingCalendar().add(D("2026-11-23"), 8) == D("2026-12-03")


def test_public_holidays_are_skipped():
    # Independence Day, Wednesday 16 December 2026.
    assert WorkingCalendar().add(D("2026-12-14"), 3) == D("2026-12-18")
    assert not WorkingCalendar().is_working_day(D("2026-12-16"))


def test_a_term_counts_from_the_next_day_and_skips_the_weekend():
    # Friday: the first working day of the term is Monday.
    assert WorkingCalendar().add(D("2026-11-27"), 1) == D("2026-11-30")


def test_decree_transfers_are_configuration():
    calendar = WorkingCalendar(
        extra_days_off=frozenset({D("2026-12-31")}), extra_working_days=frozenset({D("2026-12-26")})
    )
    assert not calendar.is_working_day(D("2026-12-31"))
    assert calendar.is_working_day(D("2026-12-26"))  # a Saturday worked in exchange
    assert calendar.add(D("2026-12-24"), 2) == D("2026-12-26")
