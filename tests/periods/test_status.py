"""Every status of a period (docs/domain.md's monthly cycle) around every boundary: the window
opening at 00:05 on the 1st, the deadline day and the day after, the device's own lock date
before or after the deadline, a late return then a clear, quarterly months, main plus sub device."""

import datetime as dt

import pytest

from apps.devices.rules import device_locked
from apps.periods.rules import SHANGHAI, devices_locked, lateness, lock_is_estimate, period_status, return_due
from apps.periods.rules import PeriodStatus as S

d = dt.date
OCT = d(2026, 10, 1)
DEADLINE = d(2026, 11, 16)  # period 2026-10 is due 2026-11-16 (official table)


def at(day: dt.date, hour=10, minute=0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), SHANGHAI)


NOV5 = at(d(2026, 11, 5))


def status(
    now=NOV5,
    month=OCT,
    deadline=DEADLINE,
    return_required=True,
    summary_uploaded=False,
    return_filed=False,
    cleared=False,
    locked=False,
):
    return period_status(
        month=month,
        deadline=deadline,
        now=now,
        return_required=return_required,
        summary_uploaded=summary_uploaded,
        return_filed=return_filed,
        cleared=cleared,
        locked=locked,
    )


SUMMARISED = {"summary_uploaded": True}
FILED = {"summary_uploaded": True, "return_filed": True}


@pytest.mark.parametrize(
    "kwargs, expected",
    [
        ({}, S.SUMMARY_DUE),
        ({"return_filed": True}, S.SUMMARY_DUE),  # filed before 抄报 still needs the summary
        (SUMMARISED, S.RETURN_DUE),
        (FILED, S.CLEAR_DUE),
        ({**FILED, "cleared": True}, S.DONE),
        # quarterly filer's in-between month: 抄报 and 清卡 still needed, no return
        ({"return_required": False}, S.SUMMARY_DUE),
        ({"return_required": False, **SUMMARISED}, S.NO_RETURN_THIS_MONTH),
        ({"return_required": False, **SUMMARISED, "cleared": True}, S.DONE),
        # a device that says it is locked blocks the period, whatever else holds, until it is cleared
        ({"locked": True, **SUMMARISED}, S.LOCKED),
        ({"locked": True, **FILED, "cleared": True}, S.DONE),
    ],
)
def test_the_cycle_before_the_deadline(kwargs, expected):
    assert status(**kwargs) == expected


@pytest.mark.parametrize(
    "now, expected",
    [
        (at(d(2026, 10, 31), 23, 59), S.NOT_OPEN),
        (at(d(2026, 11, 1), 0, 0), S.NOT_OPEN),
        (at(d(2026, 11, 1), 0, 4), S.NOT_OPEN),
        (dt.datetime(2026, 11, 1, 0, 4, 59, 999999, tzinfo=SHANGHAI), S.NOT_OPEN),
        (at(d(2026, 11, 1), 0, 5), S.SUMMARY_DUE),
        (at(d(2026, 11, 1), 0, 6), S.SUMMARY_DUE),
        # the same instant written in UTC: 16:04 and 16:05 on 31 October
        (dt.datetime(2026, 10, 31, 16, 4, tzinfo=dt.UTC), S.NOT_OPEN),
        (dt.datetime(2026, 10, 31, 16, 5, tzinfo=dt.UTC), S.SUMMARY_DUE),
    ],
)
def test_the_window_opens_at_five_past_midnight_on_the_first(now, expected):
    assert status(now=now) == expected


def test_a_period_is_not_open_even_with_nothing_known_of_its_devices():
    assert status(now=at(d(2026, 11, 1), 0, 4), locked=None) == S.NOT_OPEN


@pytest.mark.parametrize(
    "kwargs, on_deadline_day, day_after",
    [
        ({}, S.SUMMARY_DUE, S.SUMMARY_DUE),
        (SUMMARISED, S.RETURN_DUE, S.RETURN_OVERDUE),
        (FILED, S.CLEAR_DUE, S.CLEAR_DUE),
        ({"return_required": False, **SUMMARISED}, S.NO_RETURN_THIS_MONTH, S.NO_RETURN_THIS_MONTH),
        ({**FILED, "cleared": True}, S.DONE, S.DONE),
    ],
)
def test_the_deadline_alone_locks_nothing_on_a_device_that_is_not_locked(kwargs, on_deadline_day, day_after):
    assert status(now=at(DEADLINE, 23, 59), **kwargs) == on_deadline_day
    assert status(now=at(DEADLINE + dt.timedelta(days=1), 0, 1), **kwargs) == day_after


def test_without_device_data_the_lock_is_estimated_from_the_calendar():
    on_deadline_day = status(now=at(DEADLINE, 23, 59), locked=None, **SUMMARISED)
    day_after = status(now=at(DEADLINE + dt.timedelta(days=1)), locked=None, **SUMMARISED)
    assert on_deadline_day == S.RETURN_DUE
    assert day_after == S.LOCKED
    assert lock_is_estimate(day_after, None)
    assert not lock_is_estimate(S.LOCKED, True)
    assert status(now=at(DEADLINE + dt.timedelta(days=1)), locked=None, **FILED, cleared=True) == S.DONE


def period_with_device(kpjzsj: dt.date, now: dt.datetime, **kwargs):
    lock = device_locked(kpjzsj, False, now.date())
    return status(now=now, locked=devices_locked([lock]), **kwargs)


def test_a_lock_date_later_than_the_deadline_leaves_the_clear_open():
    kpjzsj = d(2026, 11, 30)
    nov23 = at(d(2026, 11, 23))
    assert period_with_device(kpjzsj, nov23, **FILED) == S.CLEAR_DUE
    assert period_with_device(kpjzsj, nov23, **SUMMARISED) == S.RETURN_OVERDUE
    assert period_with_device(kpjzsj, at(d(2026, 11, 30), 23, 59), **FILED) == S.CLEAR_DUE
    assert period_with_device(kpjzsj, at(d(2026, 12, 1), 0, 0), **FILED) == S.LOCKED


def test_a_lock_date_earlier_than_the_deadline_locks_before_it():
    kpjzsj = d(2026, 11, 10)
    assert period_with_device(kpjzsj, at(d(2026, 11, 10), 23, 59), **SUMMARISED) == S.RETURN_DUE
    assert period_with_device(kpjzsj, at(d(2026, 11, 11)), **SUMMARISED) == S.LOCKED
    assert period_with_device(kpjzsj, at(d(2026, 11, 11)), **FILED, cleared=True) == S.DONE


def test_a_device_that_answered_locked_is_locked_whatever_its_lock_date_says():
    assert device_locked(d(2026, 12, 15), True, d(2026, 11, 5)) is True
    assert device_locked(d(2026, 12, 15), False, d(2026, 11, 5)) is False
    assert device_locked(None, False, d(2026, 11, 5)) is None


def test_a_late_return_then_a_clear_counts_and_is_marked_late():
    nov20 = at(d(2026, 11, 20))
    assert period_with_device(d(2026, 11, 30), nov20, **SUMMARISED) == S.RETURN_OVERDUE
    assert period_with_device(d(2026, 11, 30), nov20, **FILED) == S.CLEAR_DUE
    assert period_with_device(d(2026, 12, 15), nov20, **FILED, cleared=True) == S.DONE
    late = lateness(
        deadline=DEADLINE,
        today=d(2026, 11, 20),
        return_required=True,
        summary_on=d(2026, 11, 3),
        filed_on=d(2026, 11, 19),
        cleared_on=d(2026, 11, 20),
    )
    assert (late.summary, late.filing, late.clear, late.any) == (False, True, True, True)


@pytest.mark.parametrize(
    "today, summary_on, filed_on, cleared_on, expected",
    [
        (d(2026, 11, 10), None, None, None, (False, False, False)),
        (d(2026, 11, 16), d(2026, 11, 2), None, None, (False, False, False)),
        (d(2026, 11, 17), d(2026, 11, 2), None, None, (False, True, True)),
        (d(2026, 11, 17), None, None, None, (True, True, True)),
        (d(2026, 12, 20), d(2026, 11, 2), d(2026, 11, 10), d(2026, 11, 16), (False, False, False)),
        # cleared: its 抄报 and return came by the clear, whatever was recorded
        (d(2026, 12, 20), None, None, d(2026, 11, 12), (False, False, False)),
        (d(2026, 12, 20), None, None, d(2026, 11, 18), (True, True, True)),
    ],
)
def test_lateness_of_each_step(today, summary_on, filed_on, cleared_on, expected):
    late = lateness(
        deadline=DEADLINE,
        today=today,
        return_required=True,
        summary_on=summary_on,
        filed_on=filed_on,
        cleared_on=cleared_on,
    )
    assert (late.summary, late.filing, late.clear) == expected


def test_a_month_without_a_return_is_never_late_for_its_return():
    late = lateness(
        deadline=DEADLINE, today=d(2026, 12, 1), return_required=False, summary_on=None, filed_on=None, cleared_on=None
    )
    assert not late.filing and late.summary and late.clear


def test_main_and_sub_device_one_locked_locks_the_client():
    nov20 = d(2026, 11, 20)
    main, sub = device_locked(d(2026, 12, 15), False, nov20), device_locked(d(2026, 11, 16), False, nov20)
    assert devices_locked([main, sub]) is True
    assert devices_locked([main, None]) is False  # partly known: trust what is known
    assert devices_locked([None, None]) is None
    assert devices_locked([]) is None


def test_quarterly_months_before_and_after_the_deadline():
    # a small-scale client's November: no return, still 抄报 and 清卡, and never 逾期未申报
    nov, dec_deadline = d(2026, 11, 1), d(2026, 12, 15)
    assert not return_due("quarterly", nov)
    kwargs = {"month": nov, "deadline": dec_deadline, "return_required": False, "locked": False}
    assert status(now=at(d(2026, 12, 1), 0, 4), **kwargs) == S.NOT_OPEN
    assert status(now=at(d(2026, 12, 3)), **kwargs) == S.SUMMARY_DUE
    assert status(now=at(d(2026, 12, 20)), summary_uploaded=True, **kwargs) == S.NO_RETURN_THIS_MONTH
    # its December is a quarter's end: the return is due in January
    assert return_due("quarterly", d(2026, 12, 1))
    jan_deadline = d(2027, 1, 15)
    dec = {"month": d(2026, 12, 1), "deadline": jan_deadline, "locked": False}
    assert status(now=at(d(2027, 1, 18)), summary_uploaded=True, **dec) == S.RETURN_OVERDUE


def test_status_labels():
    assert {s.label for s in S} == {
        "未到抄报期",
        "待抄报",
        "待申报",
        "逾期未申报",
        "待清卡",
        "本月无需申报",
        "已完成",
        "无需清卡",
        "已锁死",
    }


@pytest.mark.parametrize("month, expected", [(m, m in (3, 6, 9, 12)) for m in range(1, 13)])
def test_quarterly_filers_file_for_quarter_end_months(month, expected):
    assert return_due("quarterly", d(2026, month, 1)) is expected


@pytest.mark.parametrize("month", range(1, 13))
def test_monthly_filers_file_every_month(month):
    assert return_due("monthly", d(2026, month, 1)) is True
