"""批量清卡 rules: who is left out and why (exclusion_reason), and when each job runs (plan)."""

import datetime as dt
import zoneinfo
from decimal import Decimal

import pytest

from apps.clients.models import Client
from apps.devices.models import Agent, Device, Health
from apps.jobs.models import JobKind
from apps.periods.models import Period
from apps.scheduling.planning import exclusion_reason, outside_busy_hours, plan

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 11, 10, 10, tzinfo=SHANGHAI)
OCTOBER = dt.date(2026, 10, 1)
CLEAR, SUMMARY, BOTH = JobKind.CLEAR, JobKind.UPLOAD_SUMMARY, JobKind.UPLOAD_AND_CLEAR
UPLOADED = dt.datetime(2026, 11, 2, 9, tzinfo=SHANGHAI)


def agent(pk=1, **fields):
    fields = {"name": f"前置机{pk}", "enabled": True, "health": Health.GOOD, "online": True, **fields}
    return Agent(pk=pk, **fields)


def device(pk=1, agent_=None, **fields):
    fields = {"kind": "tax_disk", "number": f"5399{pk:08d}", "health": Health.GOOD, "present": True, **fields}
    return Device(pk=pk, agent=agent_ if agent_ is not None else agent(), **fields)


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
        (dt.date(2026, 11, 16), False, READY, dt.datetime(2026, 11, 17, 9, tzinfo=SHANGHAI), "设备已锁死"),
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
    "code, left_out",
    [
        ("CERT_PASSWORD_WRONG", True),
        ("CERT_LOCKED", True),
        ("DEVICE_PASSWORD_WRONG", True),
        ("DEVICE_PASSWORD_LOCKED", True),
        ("TRANSFER_FAILED", False),
        ("RETURN_NOT_FILED", False),
        ("", False),
        (None, False),
    ],
)
def test_a_password_is_never_tried_again_blindly(code, left_out):
    reason = exclusion_reason(CLEAR, period(**READY), device(), now=NOW, last_error_code=code)
    assert (reason is not None and "口令" in reason) if left_out else reason is None


def test_an_active_job_of_the_same_kind_leaves_the_device_out():
    assert "已有同类任务" in exclusion_reason(CLEAR, period(**READY), device(), now=NOW, has_active_job=True)


def test_period_reason_comes_before_device_reasons():
    assert "本期已完成" in exclusion_reason(CLEAR, period(cleared_at=UPLOADED), device(present=False), now=NOW)
    assert "未完成申报" in exclusion_reason(CLEAR, period(**NOT_FILED), None, now=NOW)
    # a password problem is named before the agent being offline
    offline = device(agent_=agent(online=False), monitoring={"cert_tries_left": 0})
    assert "证书口令已锁定" in exclusion_reason(CLEAR, period(**READY), offline, now=NOW)


def test_amounts_do_not_matter():
    assert exclusion_reason(CLEAR, period(**READY, declared_sales=Decimal("0")), device(), now=NOW) is None


# --- plan ------------------------------------------------------------------------------------


def at(hour, minute=0, second=0, day=10):
    return dt.datetime(2026, 11, day, hour, minute, second, tzinfo=SHANGHAI)


def devices_on(agents_and_counts):
    found, pk = [], 100
    for the_agent, count in agents_and_counts:
        for _ in range(count):
            pk += 1
            found.append(device(pk, the_agent))
    return found


def times_by_agent(planned):
    by_agent = {}
    for the_device, moment in planned:
        by_agent.setdefault(the_device.agent_id, []).append(moment)
    return by_agent


def test_one_agent_is_spaced_evenly():
    a = agent(1)
    planned = plan(devices_on([(a, 4)]), at(20), per_agent_per_minute=2)
    assert [moment for _d, moment in planned] == [at(20), at(20, 0, 30), at(20, 1), at(20, 1, 30)]


@pytest.mark.parametrize("per_minute", [1, 3, 7, 10, 60])
def test_no_agent_gets_more_than_n_jobs_in_any_minute(per_minute):
    agents = [agent(1), agent(2), agent(3)]
    planned = plan(
        devices_on([(agents[0], 50), (agents[1], 7), (agents[2], 1)]), at(20), per_agent_per_minute=per_minute
    )
    assert len(planned) == 58
    for times in times_by_agent(planned).values():
        times.sort()
        assert all(
            later - earlier >= dt.timedelta(minutes=1)
            for earlier, later in zip(times, times[per_minute:], strict=False)
        )


def test_agents_work_in_parallel():
    a, b = agent(1), agent(2)
    mixed = devices_on([(a, 3)]) + devices_on([(b, 3)])
    mixed = [mixed[0], mixed[3], mixed[1], mixed[4], mixed[2], mixed[5]]  # interleaved
    planned = plan(mixed, at(20), per_agent_per_minute=6)
    by_agent = times_by_agent(planned)
    assert by_agent[1] == by_agent[2] == [at(20), at(20, 0, 10), at(20, 0, 20)]
    assert [d for d, _m in planned] == mixed  # the order given is kept


def test_without_avoiding_busy_hours_the_start_is_kept():
    assert plan(devices_on([(agent(1), 1)]), at(10, 30), per_agent_per_minute=10)[0][1] == at(10, 30)


@pytest.mark.parametrize(
    "moment, expected",
    [
        (at(8, 59, 59), at(8, 59, 59)),
        (at(9), at(11)),
        (at(10, 30), at(11)),
        (at(10, 59, 59), at(11)),
        (at(11), at(11)),
        (at(13, 59), at(13, 59)),
        (at(14), at(16)),
        (at(15, 45), at(16)),
        (at(16), at(16)),
        (at(23, 30), at(23, 30)),
    ],
)
def test_busy_hours_move_to_their_end(moment, expected):
    assert outside_busy_hours(moment) == expected


def test_busy_hours_are_local_time():
    utc_ten_thirty_shanghai = dt.datetime(2026, 11, 10, 2, 30, tzinfo=dt.UTC)
    assert outside_busy_hours(utc_ten_thirty_shanghai) == at(11)
    assert outside_busy_hours(dt.datetime(2026, 11, 10, 9, 30, tzinfo=dt.UTC)) == at(17, 30)


def test_jobs_reaching_busy_hours_wait_and_stay_spaced():
    a, b = agent(1), agent(2)
    planned = plan(devices_on([(a, 4), (b, 1)]), at(8, 59), per_agent_per_minute=2, avoid_busy_hours=True)
    by_agent = times_by_agent(planned)
    assert by_agent[1] == [at(8, 59), at(8, 59, 30), at(11), at(11, 0, 30)]
    assert by_agent[2] == [at(8, 59)]


def test_a_start_inside_busy_hours_begins_at_their_end():
    planned = plan(devices_on([(agent(1), 2)]), at(14, 10), per_agent_per_minute=1, avoid_busy_hours=True)
    assert [m for _d, m in planned] == [at(16), at(16, 1)]


def test_per_minute_must_be_positive():
    with pytest.raises(ValueError):
        plan([], at(20), per_agent_per_minute=0)
