"""征期: the monthly filing deadline. Official tables are data (see the migration that loads
docs/domain.md's 2025 and 2026 tables); this module only estimates a month nobody has published yet."""

import datetime as dt

import chinese_calendar

from apps.core.months import add_months

# 2026: 税总办征科函〔2025〕64号; 2025: the administration's notice for that year.
OFFICIAL_DAYS = {
    2025: (15, 20, 17, 18, 22, 16, 15, 15, 15, 27, 17, 15),
    2026: (20, 24, 16, 20, 22, 15, 15, 17, 15, 26, 16, 15),
}


def _is_rest_day(day: dt.date) -> bool:
    """chinese-calendar's rest days (weekends and statutory holidays, less make-up workdays).
    Raises NotImplementedError for a year the package does not know."""
    return not chinese_calendar.is_workday(day)


def _next_workday(day: dt.date) -> dt.date:
    while _is_rest_day(day):
        day += dt.timedelta(days=1)
    return day


def _estimate_from_holidays(month: dt.date) -> dt.date:
    """The old extension rule: every run of 3 or more consecutive rest days within the 1st to the
    15th that contains a statutory holiday extends the deadline by its length; a deadline on a rest
    day moves to the next workday. Known not to reproduce every published table."""
    deadline = month.replace(day=15)
    day = month
    while day <= month.replace(day=15):
        run = 0
        while _is_rest_day(day + dt.timedelta(days=run)):
            run += 1
        holiday_in_run = any(
            chinese_calendar.is_holiday(day + dt.timedelta(days=i)) and (day + dt.timedelta(days=i)).weekday() < 5
            for i in range(run)
        )
        if run >= 3 and holiday_in_run:
            deadline += dt.timedelta(days=run)
        day += dt.timedelta(days=max(run, 1))
    return _next_workday(deadline)


def _fifteenth_on_weekday(month: dt.date) -> dt.date:
    day = month.replace(day=15)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


def estimate_deadline(month: dt.date) -> dt.date:
    """An estimated deadline for `month` (its first day): from the holiday calendar where
    chinese-calendar knows the year, else the 15th moved off a weekend."""
    try:
        return _estimate_from_holidays(month)
    except NotImplementedError:
        return _fifteenth_on_weekday(month)


def period_deadline_month(period_month: dt.date) -> dt.date:
    """The return for period M is due in month M+1."""
    return add_months(period_month, 1)
