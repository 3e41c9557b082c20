"""Every row of docs/domain.md's "State of one device" rule, with its month boundaries."""

import datetime as dt

import pytest

from apps.devices.rules import DeviceCycleState as S
from apps.devices.rules import device_cycle_state

d = dt.date


@pytest.mark.parametrize(
    "now, zxbsrq, kpjzsj, expected",
    [
        # month(now) > month(zxbsrq) and month(now) >= month(kpjzsj) → 待抄报
        (d(2026, 11, 3), d(2026, 10, 5), d(2026, 11, 16), S.SUMMARY_DUE),  # the ordinary first days of the month
        (d(2026, 11, 1), d(2026, 10, 31), d(2026, 11, 16), S.SUMMARY_DUE),  # first day vs last day: months, not days
        (d(2026, 12, 2), d(2026, 10, 5), d(2026, 11, 30), S.LOCKED),  # ...but past kpjzsj the lock wins
        (d(2027, 1, 4), d(2026, 12, 3), d(2027, 1, 20), S.SUMMARY_DUE),  # across the year
        # otherwise month(now) >= month(kpjzsj) → 待清卡 (summarised this month, not yet cleared)
        (d(2026, 11, 3), d(2026, 11, 1), d(2026, 11, 16), S.CLEAR_DUE),
        (d(2026, 11, 16), d(2026, 11, 2), d(2026, 11, 16), S.CLEAR_DUE),  # on the lock date itself: not yet locked
        (d(2027, 1, 5), d(2027, 1, 4), d(2027, 1, 20), S.CLEAR_DUE),
        # otherwise → 已完成 (kpjzsj has moved into a later month)
        (d(2026, 11, 5), d(2026, 11, 2), d(2026, 12, 15), S.DONE),
        (d(2026, 12, 31), d(2026, 12, 2), d(2027, 1, 20), S.DONE),
        (d(2026, 11, 5), d(2026, 10, 2), d(2026, 12, 15), S.DONE),  # month(now) > zxbsrq but kpjzsj ahead
        # now > kpjzsj → 已锁死, whatever the above says
        (d(2026, 11, 17), d(2026, 10, 5), d(2026, 11, 16), S.LOCKED),  # was 待抄报
        (d(2026, 11, 17), d(2026, 11, 3), d(2026, 11, 16), S.LOCKED),  # was 待清卡
        (d(2026, 11, 17), d(2026, 11, 3), d(2026, 11, 16), S.LOCKED),
        (d(2027, 3, 1), d(2026, 11, 3), d(2026, 12, 15), S.LOCKED),  # a zombie: months without 抄报
    ],
)
def test_device_cycle_state(now, zxbsrq, kpjzsj, expected):
    assert device_cycle_state(now, zxbsrq, kpjzsj) == expected


def test_labels_are_the_domain_words():
    assert [s.label for s in (S.SUMMARY_DUE, S.CLEAR_DUE, S.DONE, S.LOCKED)] == ["待抄报", "待清卡", "已完成", "已锁死"]
