"""After the deadline, a locked device (docs/domain.md, "After the deadline: unlocking"): where the
firm or the client tries online first, one try (逾期抄报, then 清卡) once the late return is
recorded, by a person or by the autopilot; a refusal holds the device with the hall as the remedy
and the bureau's reason. Where the hall is the rule, nothing is tried.

On the code before it, every job on a locked device was refused ("须先到税务机关处理"): the tests
of the one try fail there."""

import datetime as dt

import pytest
import time_machine

from apps.accounts.models import FirmSettings, UnlockPolicy
from apps.autopilot import cycle
from apps.autopilot.models import Autopilot
from apps.holds.models import Hold, HoldReason
from apps.holds.services import hold_locked_devices
from apps.jobs import outcomes
from apps.jobs.models import Job, JobKind, JobState
from apps.jobs.rules import period_reason, refusal_reason
from apps.periods.models import Period
from apps.periods.rules import SHANGHAI, PeriodStatus
from tests.factories import autopilot_on_with_agent, make_client, make_device

pytestmark = pytest.mark.django_db
NOV = dt.date(2026, 11, 1)  # due 2026-12-15; the device locks after it
LOCK = dt.date(2026, 12, 15)
NOW = dt.datetime(2026, 12, 21, 20, 0, tzinfo=SHANGHAI)  # locked since the 16th


@pytest.fixture
def agent():
    return autopilot_on_with_agent()


def locked_client(agent, *, filed=True, **client):
    made = make_client(**client)
    device = make_device(
        made,
        agent=agent,
        present=True,
        lock_date=LOCK,
        monitoring={"zxbsrq": "2026-11-02", "kpjzsj": LOCK.isoformat()},
        monitored_at=NOW - dt.timedelta(hours=1),
    )
    period = Period.objects.create(
        client=made, month=NOV, deadline=LOCK, return_filed_on=dt.date(2026, 12, 20) if filed else None
    )
    return made, device, period


def run(moment=NOW):
    with time_machine.travel(moment, tick=False):
        return cycle.run_pass(moment, Autopilot.current())


def report(agent, outcome, moment=NOW, **result):
    """The agent claims every open job and reports `outcome` for each."""
    with time_machine.travel(moment, tick=False):
        open_jobs = Job.objects.filter(state__in=(JobState.SCHEDULED, JobState.QUEUED))
        ids = list(open_jobs.values_list("pk", flat=True))
        open_jobs.update(state=JobState.QUEUED, attempts=1)
        claimed, refused = outcomes.claim_jobs(agent, dict.fromkeys(ids, 1))
        assert not refused
        outcomes.accept_results(agent, {job.pk: {"attempt": 1, "outcome": outcome, **result} for job in claimed})
    return ids


def test_online_first_a_locked_device_waits_for_the_late_return_then_takes_one_try(agent):
    _client, device, period = locked_client(agent, filed=False)
    assert period.status(NOW) == PeriodStatus.LOCKED
    reason = period_reason(JobKind.UPLOAD_SUMMARY, period, NOW)
    assert reason is not None and "逾期未申报" in reason and "补办申报" in reason
    period.return_filed_on = dt.date(2026, 12, 20)
    period.save()
    assert period_reason(JobKind.UPLOAD_SUMMARY, period, NOW) is None  # 逾期抄报
    assert period_reason(JobKind.UPLOAD_AND_CLEAR, period, NOW) is None
    assert "尚未抄报" in period_reason(JobKind.CLEAR, period, NOW)
    assert refusal_reason(JobKind.UPLOAD_SUMMARY, device, period, NOW, hold_reason=None, has_active_job=False) is None


def test_the_hall_setting_of_the_firm_or_of_the_client_refuses_every_job(agent):
    _client, device, period = locked_client(agent, unlock_policy=UnlockPolicy.HALL)
    assert "须到大厅" in period_reason(JobKind.UPLOAD_SUMMARY, period, NOW)
    FirmSettings.objects.update_or_create(pk=1, defaults={"unlock_policy": UnlockPolicy.HALL})
    _other, _device, other_period = locked_client(agent)
    assert "办税服务厅" in period_reason(JobKind.UPLOAD_AND_CLEAR, other_period, NOW)
    _online, _device, online_period = locked_client(agent, unlock_policy=UnlockPolicy.ONLINE_FIRST)
    assert period_reason(JobKind.UPLOAD_AND_CLEAR, online_period, NOW) is None  # the client's own setting wins


def test_the_autopilot_unlocks_online_and_the_period_ends_done(agent):
    client, device, period = locked_client(agent)
    assert hold_locked_devices(NOW.date()) == 0  # tried online first: not held before its try
    assert run()[JobKind.UPLOAD_AND_CLEAR] == 1
    unlocked = {"zxbsrq": "2026-12-21", "kpjzsj": "2027-01-20", "clock": NOW.isoformat(), "simulated": True}
    report(agent, "succeeded", monitoring=unlocked)
    period.refresh_from_db()
    assert period.status(NOW) == PeriodStatus.DONE
    assert sum(run().values()) == 0
    assert not Hold.objects.filter(device=device).exists()


@pytest.mark.parametrize(
    "code, message, raw",
    [
        ("MULTI_MONTH_UNREPORTED", "抄税失败，可能存在多月未正常抄报情况", "202"),
        ("DEVICE_LOCKED", "设备已锁死，上海税务机关不支持远程解锁，须到办税服务厅处理", "248"),
    ],
)
def test_a_refused_try_holds_the_device_with_the_hall_and_the_bureaus_reason(agent, code, message, raw):
    _client, device, period = locked_client(agent)
    assert run()[JobKind.UPLOAD_AND_CLEAR] == 1
    monitoring = {"zxbsrq": "2026-11-02", "kpjzsj": LOCK.isoformat(), "clock": NOW.isoformat(), "simulated": True}
    report(agent, "failed", error_code=code, message=message, raw_code=raw, monitoring=monitoring)
    held = Hold.objects.active().get(device=device)
    assert (held.reason, held.error_code, held.described) == (HoldReason.HALL, code, message)
    later = NOW + dt.timedelta(hours=1)
    assert sum(run(later).values()) == 0  # one try: nothing more, from the autopilot
    reason = refusal_reason(
        JobKind.UPLOAD_AND_CLEAR, device, period, later, hold_reason=HoldReason.HALL, has_active_job=False
    )
    assert "办税服务厅" in reason  # nor from a person


def test_the_hall_setting_holds_the_locked_device_at_once(agent):
    _client, device, _period = locked_client(agent, unlock_policy=UnlockPolicy.HALL)
    assert hold_locked_devices(NOW.date()) == 1
    assert Hold.objects.active().get(device=device).reason == HoldReason.LOCKED
    assert sum(run().values()) == 0


def test_a_zombie_device_is_refused_before_a_try_is_wasted(agent):
    _client, device, period = locked_client(agent)
    device.monitoring = {"zxbsrq": "2026-09-01", "kpjzsj": LOCK.isoformat()}
    device.save()
    reason = refusal_reason(JobKind.UPLOAD_AND_CLEAR, device, period, NOW, hold_reason=None, has_active_job=False)
    assert "90天" in reason and "2026-09-01" in reason and "办税服务厅" in reason
    assert sum(run().values()) == 0
