"""The standing cycle (自动清卡): nothing before 00:05 on the 1st, then 抄报 for every due device,
清卡 once the return is recorded (at once when none is due), 读取状态 once a day in the 征期;
the firm's rate and busy hours, the last hour before a device locks, clients taken out, holds and
failures that need a person; idempotent, and a pass whose queries do not grow with the firm."""

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.autopilot import cycle
from apps.autopilot.models import Autopilot, Exclusion
from apps.devices.models import Device
from apps.holds.models import Hold, HoldReason
from apps.jobs.models import Job, JobKind, JobState, Origin
from apps.periods.models import Period
from apps.periods.rules import SHANGHAI
from tests.factories import make_agent, make_client, make_device

pytestmark = pytest.mark.django_db
NOV = dt.date(2026, 11, 1)  # due 2026-12-15; its window opens 2026-12-01 00:05


def at(day, hour, minute=0, second=0):
    return dt.datetime(2026, 12, day, hour, minute, second, tzinfo=SHANGHAI)


@pytest.fixture
def firm():
    Autopilot.objects.update_or_create(
        pk=1, defaults={"enabled": True, "avoid_busy_hours": True, "per_agent_per_minute": 60}
    )
    agent, _token = make_agent("一号机柜")
    agent.online = True
    agent.save()

    def client(name, kind="general", **device):
        made = make_client(name=name, taxpayer_kind=kind)
        device.setdefault("lock_date", dt.date(2026, 12, 15))
        make_device(made, agent=agent, present=True, monitored_at=at(1, 0, 1), **device)
        return made

    return {
        "general": client("甲一般纳税人"),
        "small": client("乙小规模"),  # November is not a quarter's end: no return
        "agent": agent,
    }


def small(firm):
    firm["small"].taxpayer_kind = "small_scale"
    firm["small"].save()


def run(moment):
    with time_machine.travel(moment, tick=False):
        return cycle.run_pass(moment, Autopilot.current())


def kinds(**filters):
    return sorted(Job.objects.filter(**filters).values_list("device__client__name", "kind"))


def test_nothing_before_five_past_midnight_then_the_summary_for_every_due_device(firm):
    small(firm)
    assert sum(run(at(1, 0, 4, 59)).values()) == 0 and not Job.objects.exists()
    made = run(at(1, 0, 5))
    assert made[JobKind.UPLOAD_SUMMARY] == 1 and made[JobKind.UPLOAD_AND_CLEAR] == 1
    assert kinds() == [("乙小规模", JobKind.UPLOAD_AND_CLEAR), ("甲一般纳税人", JobKind.UPLOAD_SUMMARY)]
    assert set(Job.objects.values_list("origin", flat=True)) == {Origin.AUTOPILOT}


def test_a_second_pass_makes_nothing_new_and_two_sweeps_in_a_minute_make_one_pass(firm):
    run(at(1, 0, 6))
    assert sum(run(at(1, 0, 6, 30)).values()) == 0
    Autopilot.objects.update(last_pass_at=None)
    first = cycle.claim_pass(at(1, 1))
    assert first is not None and cycle.claim_pass(at(1, 1, 0, 30)) is None
    assert cycle.claim_pass(at(1, 1, 1, 1)) is not None


def test_the_clear_follows_the_recorded_return(firm):
    run(at(1, 0, 6))
    Job.objects.update(state=JobState.SUCCEEDED, finished_at=at(1, 0, 7))
    Period.objects.filter(month=NOV).update(summary_uploaded_at=at(1, 0, 7))
    assert sum(run(at(1, 8)).values()) == 0  # the general taxpayer's return is not recorded yet
    Period.objects.filter(client=firm["general"], month=NOV).update(return_filed_on=dt.date(2026, 12, 3))
    run(at(3, 8))
    # the one whose return is recorded is cleared; the other one only gets its daily read
    assert kinds(state__in=(JobState.SCHEDULED, JobState.QUEUED)) == [
        ("乙小规模", JobKind.READ_STATUS),
        ("甲一般纳税人", JobKind.CLEAR),
    ]


def test_a_client_with_a_sub_device_has_every_device_summarised_before_any_clears(firm):
    small(firm)  # no return due: a single device would get 抄报并清卡
    make_device(firm["small"], agent=firm["agent"], present=True, sub_number=1, lock_date=dt.date(2026, 12, 15))
    run(at(1, 0, 6))
    assert kinds(device__client=firm["small"]) == [("乙小规模", JobKind.UPLOAD_SUMMARY)] * 2
    Job.objects.update(state=JobState.SUCCEEDED, finished_at=at(1, 0, 7))
    Period.objects.filter(client=firm["small"], month=NOV).update(summary_uploaded_at=at(1, 0, 7))
    run(at(1, 8))
    assert kinds(device__client=firm["small"], kind=JobKind.CLEAR) == [("乙小规模", JobKind.CLEAR)] * 2


def test_the_daily_read_happens_once_a_day_in_the_filing_season(firm):
    Period.objects.create(client=firm["general"], month=NOV, deadline=dt.date(2026, 12, 15), cleared_at=at(2, 9))
    Period.objects.create(client=firm["small"], month=NOV, deadline=dt.date(2026, 12, 15), cleared_at=at(2, 9))
    run(at(3, 8))
    assert kinds() == [("乙小规模", JobKind.READ_STATUS), ("甲一般纳税人", JobKind.READ_STATUS)]
    Job.objects.update(state=JobState.SUCCEEDED)
    Device.objects.update(monitored_at=at(3, 8, 1))  # what the reads brought
    assert sum(run(at(3, 9)).values()) == 0
    assert sum(run(at(20, 8)).values()) == 0  # after the deadline: no longer the 征期


def test_a_read_that_brings_nothing_new_is_still_the_days_read(firm):
    """A reading equal to the last one leaves monitored_at as it was (devices/services.record_readings):
    the day's read is the job made today, succeeded or failed, not a newer reading. Before, every pass
    read an idle device again, all day long."""
    for client in (firm["general"], firm["small"]):
        Period.objects.create(client=client, month=NOV, deadline=dt.date(2026, 12, 15), cleared_at=at(2, 9))
    run(at(3, 8))
    Job.objects.filter(device__client=firm["general"]).update(state=JobState.SUCCEEDED, finished_at=at(3, 8, 1))
    Job.objects.filter(device__client=firm["small"]).update(state=JobState.FAILED, finished_at=at(3, 8, 1))
    assert sum(run(at(3, 9)).values()) == 0
    assert sum(run(at(3, 23, 59)).values()) == 0
    assert run(at(4, 8))[JobKind.READ_STATUS] == 2  # a new day: read again
    assert Job.objects.filter(kind=JobKind.READ_STATUS).count() == 4


def test_busy_hours_and_the_rate_spread_the_work(firm):
    for _ in range(3):
        make_device(make_client(), agent=firm["agent"], present=True, lock_date=dt.date(2026, 12, 15))
    Autopilot.objects.update(per_agent_per_minute=2)
    run(at(2, 10, 30))
    times = sorted(Job.objects.values_list("run_after", flat=True))
    assert times[0] == at(2, 11)  # 10:30 is inside 9–11: moved to its end
    assert [b - a for a, b in zip(times, times[1:], strict=False)] == [dt.timedelta(seconds=30)] * 4


def test_no_new_work_in_the_last_hour_before_a_device_locks_unless_told(firm):
    Device.objects.update(lock_date=dt.date(2026, 12, 1))
    assert sum(run(at(1, 23, 1)).values()) == 0
    Autopilot.objects.update(work_in_last_hour=True)
    assert sum(run(at(1, 23, 2)).values()) == 2


def test_a_client_taken_out_a_held_device_and_a_failure_needing_a_person_get_nothing(firm):
    Exclusion.objects.create(client=firm["small"], reason="客户自行处理")
    device = firm["general"].devices.get()
    Hold.objects.create(device=device, reason=HoldReason.PASSWORD)
    assert sum(run(at(1, 1)).values()) == 0
    Hold.objects.update(released_at=at(1, 2))
    period = Period.objects.get(client=firm["general"], month=NOV)
    Job.objects.create(
        kind=JobKind.UPLOAD_SUMMARY,
        device=device,
        period=period,
        state=JobState.FAILED,
        error_code="NOT_REGISTERED",
        finished_at=at(1, 3),
        origin=Origin.AUTOPILOT,
    )
    Period.objects.filter(pk=period.pk).update(updated_at=at(1, 2, 30))
    assert sum(run(at(1, 4)).values()) == 0  # failed after the last change: a person decides
    Period.objects.filter(pk=period.pk).update(updated_at=at(1, 5))  # a person changed the period
    assert run(at(1, 6))[JobKind.UPLOAD_SUMMARY] == 1


def test_a_pass_costs_the_same_queries_for_few_or_many_clients(firm):
    def queries(moment):
        Job.objects.all().delete()
        with CaptureQueriesContext(connection) as captured, time_machine.travel(moment, tick=False):
            cycle.run_pass(moment, Autopilot.current())
        return len(captured)

    queries(at(1, 1))  # the first pass makes the firm's settings row
    few = queries(at(1, 1))
    for _ in range(40):
        make_device(make_client(), agent=firm["agent"], present=True, lock_date=dt.date(2026, 12, 15))
    many = queries(at(1, 1))
    assert many == few, (few, many)
