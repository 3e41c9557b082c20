"""Whether a job may go to a device now (jobs/rules.refusal_reason): one rule for every way in."""

import datetime as dt
import zoneinfo
from decimal import Decimal

import pytest

from apps.clients.models import Client
from apps.devices.models import Device, Health
from apps.holds.models import HoldReason
from apps.jobs.models import JobKind
from apps.jobs.rules import refusal_reason
from apps.periods.models import Period
from tests.factories import unsaved_agent as agent
from tests.factories import unsaved_device as device

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 11, 10, 10, tzinfo=SHANGHAI)
OCTOBER = dt.date(2026, 10, 1)
CLEAR, SUMMARY, BOTH = JobKind.CLEAR, JobKind.UPLOAD_SUMMARY, JobKind.UPLOAD_AND_CLEAR
UPLOADED = dt.datetime(2026, 11, 2, 9, tzinfo=SHANGHAI)


def exclusion_reason(kind, period_, device_, *, now, hold_reason=None, has_active_job=False):
    return refusal_reason(kind, device_, period_, now, hold_reason=hold_reason, has_active_job=has_active_job)


def period(taxpayer_kind="general", month=OCTOBER, **fields):
    client = Client(name="甲公司", taxpayer_kind=taxpayer_kind)
    return Period(client=client, month=month, deadline=dt.date(2026, 11, 16), **fields)


READY = {"summary_uploaded_at": UPLOADED, "return_filed_on": dt.date(2026, 11, 5)}
NOT_FILED = {"summary_uploaded_at": UPLOADED}
NOTHING = {}


@pytest.mark.parametrize(
    "kind, taxpayer_kind, facts, expected",
    [
        # 清卡: summary done and the return filed (or no return this month)
        (CLEAR, "general", READY, None),
        (CLEAR, "small_scale", NOT_FILED, None),  # October: a quarterly filer files no return
        (CLEAR, "general", NOT_FILED, "未完成申报"),
        (CLEAR, "general", {"return_filed_on": dt.date(2026, 11, 5)}, "尚未抄报"),
        (CLEAR, "general", NOTHING, "未完成申报"),
        (CLEAR, "small_scale", NOTHING, "尚未抄报"),
        # 抄报并清卡: the summary may still be due, the return must be filed when one is due
        (BOTH, "general", {"return_filed_on": dt.date(2026, 11, 5)}, None),
        (BOTH, "general", READY, None),
        (BOTH, "general", NOTHING, "未完成申报"),
        (BOTH, "general", NOT_FILED, "未完成申报"),
        (BOTH, "small_scale", NOTHING, None),
        # 抄报: only while the summary is due
        (SUMMARY, "general", NOTHING, None),
        (SUMMARY, "general", NOT_FILED, "本期已抄报"),
        (SUMMARY, "small_scale", NOT_FILED, "本期已抄报"),
        # done and locked, whatever the kind
        (CLEAR, "general", {**READY, "cleared_at": UPLOADED}, "本期已完成"),
        (SUMMARY, "general", {"cleared_at": UPLOADED}, "本期已完成"),
    ],
)
def test_period_decides_first(kind, taxpayer_kind, facts, expected):
    reason = exclusion_reason(kind, period(taxpayer_kind, **facts), device(), now=NOW)
    assert (reason is None) if expected is None else (expected in reason), reason


def test_past_the_deadline_without_device_data_the_lock_is_an_estimate_to_check():
    after = dt.datetime(2026, 11, 17, 9, tzinfo=SHANGHAI)
    assert "按日历估计已锁死" in exclusion_reason(CLEAR, period(**READY), device(), now=after)
    assert exclusion_reason(CLEAR, period(**READY), device(), now=after - dt.timedelta(days=1)) is None


def test_before_its_window_a_period_takes_no_job():
    before = dt.datetime(2026, 11, 1, 0, 4, tzinfo=SHANGHAI)
    reason = exclusion_reason(SUMMARY, period(), device(), now=before)
    assert "抄报期尚未开始（2026-11-01 00:05 起）" in reason
    assert exclusion_reason(SUMMARY, period(), device(), now=before + dt.timedelta(minutes=1)) is None


NOV23 = dt.datetime(2026, 11, 23, 9, tzinfo=SHANGHAI)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "lock_date, reported, facts, now, expected",
    [
        (dt.date(2026, 11, 30), False, READY, NOV23, None),  # a late clear on a device that is not locked
        (dt.date(2026, 11, 30), False, NOT_FILED, NOV23, "逾期未申报"),
        # locked after its deadline, the return recorded: online first (the default), its one try to
        # unlock (须到大厅 refuses it: tests/autopilot/test_remote_unlock.py)
        (dt.date(2026, 11, 16), False, READY, dt.datetime(2026, 11, 17, 9, tzinfo=SHANGHAI), None),
        (dt.date(2026, 12, 15), True, READY, NOW, "设备已锁死"),
    ],
)
def test_only_the_device_says_locked(lock_date, reported, facts, now, expected):
    from tests.factories import make_client, make_device, make_period

    client = make_client()
    make_device(client, lock_date=lock_date, locked_reported=reported)
    the_period = make_period(client, month=OCTOBER, **facts)
    reason = exclusion_reason(CLEAR, the_period, device(), now=now)
    assert (reason is None) if expected is None else (expected in reason), reason


def test_quarter_end_month_needs_the_return_of_a_small_scale_taxpayer():
    september = period("small_scale", month=dt.date(2026, 9, 1), **NOT_FILED)
    september.deadline = dt.date(2026, 10, 26)
    assert "未完成申报" in exclusion_reason(CLEAR, september, device(), now=dt.datetime(2026, 10, 20, tzinfo=SHANGHAI))


@pytest.mark.parametrize(
    "the_device, expected",
    [
        (None, "没有登记税控设备"),
        (device(present=False), "不在位"),
        (device(agent_=agent(online=False)), "离线"),
        (device(agent_=agent(enabled=False)), "已停用或不可用"),
        (device(agent_=agent(health=Health.MAINTENANCE)), "已停用或不可用"),
        (device(health=Health.BAD), "健康状况"),
        (device(health=Health.RETIRED), "健康状况"),
        (device(monitoring={"cert_tries_left": 0}), "证书口令已锁定"),
        (device(monitoring={"cert_tries_left": 1}), None),
        (device(monitoring={"kpjzsj": "2026-11-16"}), None),
    ],
)
def test_device_reasons(the_device, expected):
    reason = exclusion_reason(CLEAR, period(**READY), the_device, now=NOW)
    assert (reason is None) if expected is None else (expected in reason), reason


def test_device_without_agent():
    lone = Device(pk=9, kind="ukey", number="537100494968", health=Health.GOOD, present=True)
    assert "未分配前置机" in exclusion_reason(CLEAR, period(**READY), lone, now=NOW)


@pytest.mark.parametrize(
    "hold, words",
    [(HoldReason.PASSWORD, "口令错误"), (HoldReason.LOCKED, "设备已锁死"), (None, None)],
)
def test_a_held_device_takes_nothing(hold, words):
    for kind, facts in ((CLEAR, READY), (SUMMARY, NOTHING), (BOTH, READY), (JobKind.READ_STATUS, READY)):
        reason = exclusion_reason(kind, period(**facts), device(), now=NOW, hold_reason=hold)
        assert (reason is None) if words is None else (words in reason and "暂停" in reason), (kind, reason)


def test_an_active_job_of_the_same_kind_leaves_the_device_out():
    assert "已有同类任务" in exclusion_reason(CLEAR, period(**READY), device(), now=NOW, has_active_job=True)


def test_period_reason_comes_before_device_reasons():
    assert "本期已完成" in exclusion_reason(CLEAR, period(cleared_at=UPLOADED), device(present=False), now=NOW)
    assert "未完成申报" in exclusion_reason(CLEAR, period(**NOT_FILED), None, now=NOW)
    # a password problem is named before the agent being offline
    offline = device(agent_=agent(online=False), monitoring={"cert_tries_left": 0})
    assert "证书口令已锁定" in exclusion_reason(CLEAR, period(**READY), offline, now=NOW)


def test_amounts_do_not_matter_without_figures_declared():
    assert exclusion_reason(CLEAR, period(**READY), device(), now=NOW) is None


@pytest.mark.django_db
def test_figures_declared_with_no_summary_to_compare_hold_the_clear():
    reason = exclusion_reason(CLEAR, period(**READY, declared_sales=Decimal("0")), device(), now=NOW)
    assert "没有抄报汇总可比对" in reason
