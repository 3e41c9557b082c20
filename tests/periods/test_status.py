"""Every status of a period (docs/domain.md's monthly cycle) and which months need a return."""

import datetime as dt

import pytest

from apps.periods.rules import PeriodStatus as S
from apps.periods.rules import period_status, return_due

d = dt.date
DEADLINE = d(2026, 11, 16)
NOV5 = d(2026, 11, 5)


def status(
    today=NOV5,
    deadline=DEADLINE,
    return_required=True,
    summary_uploaded=False,
    return_filed=False,
    cleared=False,
    locked=False,
):
    return period_status(
        return_required=return_required,
        summary_uploaded=summary_uploaded,
        return_filed=return_filed,
        cleared=cleared,
        locked=locked,
        today=today,
        deadline=deadline,
    )


@pytest.mark.parametrize(
    "kwargs, expected",
    [
        ({}, S.SUMMARY_DUE),
        ({"return_filed": True}, S.SUMMARY_DUE),  # filed before 抄报 still needs the summary
        ({"summary_uploaded": True}, S.RETURN_DUE),
        ({"summary_uploaded": True, "return_filed": True}, S.CLEAR_DUE),
        ({"summary_uploaded": True, "return_filed": True, "cleared": True}, S.DONE),
        # quarterly filer's in-between month: 抄报 and 清卡 still needed, no return
        ({"return_required": False}, S.SUMMARY_DUE),
        ({"return_required": False, "summary_uploaded": True}, S.NO_RETURN_THIS_MONTH),
        ({"return_required": False, "summary_uploaded": True, "cleared": True}, S.DONE),
        # locked: reported by the device, or the deadline has passed without a clear
        ({"locked": True, "summary_uploaded": True}, S.LOCKED),
        ({"today": d(2026, 11, 17)}, S.LOCKED),
        ({"today": d(2026, 11, 17), "summary_uploaded": True, "return_filed": True}, S.LOCKED),
        ({"today": DEADLINE, "summary_uploaded": True}, S.RETURN_DUE),  # the deadline day itself is still open
        # a late clear unlocks: cleared wins over locked
        ({"locked": True, "summary_uploaded": True, "return_filed": True, "cleared": True}, S.DONE),
        ({"today": d(2026, 12, 1), "summary_uploaded": True, "cleared": True}, S.DONE),
    ],
)
def test_period_status(kwargs, expected):
    assert status(**kwargs) == expected


def test_status_labels():
    assert {s.label for s in S} == {"待抄报", "待申报", "待清卡", "本月无需申报", "已完成", "已锁死"}


@pytest.mark.parametrize("month, expected", [(m, m in (3, 6, 9, 12)) for m in range(1, 13)])
def test_quarterly_filers_file_for_quarter_end_months(month, expected):
    assert return_due("quarterly", d(2026, month, 1)) is expected


@pytest.mark.parametrize("month", range(1, 13))
def test_monthly_filers_file_every_month(month):
    assert return_due("monthly", d(2026, month, 1)) is True
