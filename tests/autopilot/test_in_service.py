"""One definition of a device in service (docs/domain.md, "Devices in service"): a retired device
(已停用) is not waited for by the period, its status or the autopilot; and the autopilot never
makes a second job for what a job already did on a device for a period.

The first two tests fail on the code before it: the period stayed 待清卡 (待抄报) for ever and the
autopilot made a new job on every pass."""

import datetime as dt

import pytest
import time_machine

from apps.autopilot import cycle
from apps.autopilot.models import Autopilot
from apps.clients.models import Client
from apps.dashboard.queries import missing_device_count
from apps.devices.models import Device, Health, in_service
from apps.jobs import outcomes
from apps.jobs.models import Job, JobKind, JobState
from apps.periods.models import Period
from apps.periods.rules import SHANGHAI, PeriodStatus
from apps.scheduling.selection import candidates
from apps.status_pages.client_list import listed_clients
from tests.factories import autopilot_on_with_agent, make_client, make_device

pytestmark = pytest.mark.django_db
NOV = dt.date(2026, 11, 1)  # due 2026-12-15; its window opens 2026-12-01 00:05
CYCLE_KINDS = (JobKind.UPLOAD_SUMMARY, JobKind.UPLOAD_AND_CLEAR, JobKind.CLEAR)


def at(day, hour, minute=0):
    return dt.datetime(2026, 12, day, hour, minute, tzinfo=SHANGHAI)


@pytest.fixture
def agent():
    return autopilot_on_with_agent()


def client_with_a_retired_sub_device(agent, **client):
    made = make_client(**client)
    good = make_device(made, agent=agent, present=True, lock_date=dt.date(2026, 12, 15), monitored_at=at(1, 0))
    make_device(made, agent=agent, sub_number=1, health=Health.RETIRED, lock_date=dt.date(2026, 11, 16))
    return made, good


def run(moment):
    with time_machine.travel(moment, tick=False):
        return cycle.run_pass(moment, Autopilot.current())


def succeed_all(agent, moment, monitoring):
    """What the agent does with every job made so far: claims it and reports success."""
    with time_machine.travel(moment, tick=False):
        open_jobs = Job.objects.filter(state__in=(JobState.SCHEDULED, JobState.QUEUED))
        ids = list(open_jobs.values_list("pk", flat=True))
        open_jobs.update(state=JobState.QUEUED, attempts=1)
        claimed, refused = outcomes.claim_jobs(agent, dict.fromkeys(ids, 1))
        assert not refused
        results = {job.pk: {"attempt": 1, "outcome": "succeeded", "monitoring": monitoring} for job in claimed}
        outcomes.accept_results(agent, results)
    return ids


def reading(zxbsrq, kpjzsj, moment):
    return {"zxbsrq": zxbsrq, "kpjzsj": kpjzsj, "clock": moment.isoformat(), "simulated": True}


def cycle_jobs(client):
    return list(Job.objects.filter(device__client=client, kind__in=CYCLE_KINDS).values_list("kind", flat=True))


def test_the_rule_and_its_queryset_agree():
    made = make_client()
    good = make_device(made)
    bad = make_device(made, sub_number=1, health=Health.BAD)  # broken, still the client's: it counts
    retired = make_device(made, sub_number=2, health=Health.RETIRED)
    assert [in_service(d) for d in (good, bad, retired)] == [True, True, False]
    assert set(Device.objects.in_service()) == {good, bad}
    assert set(made.devices.in_service()) == {good, bad}


def test_a_client_with_a_retired_device_is_done_once_its_good_device_clears_and_gets_no_more_jobs(agent):
    made, good = client_with_a_retired_sub_device(agent)
    Period.objects.create(
        client=made,
        month=NOV,
        deadline=dt.date(2026, 12, 15),
        summary_uploaded_at=at(1, 1),
        return_filed_on=dt.date(2026, 12, 2),
    )
    run(at(3, 8))
    assert cycle_jobs(made) == [JobKind.CLEAR]
    assert Job.objects.get(kind=JobKind.CLEAR).device == good
    succeed_all(agent, at(3, 8, 5), reading("2026-12-01", "2027-01-20", at(3, 8, 5)))
    period = Period.objects.get(client=made, month=NOV)
    assert period.cleared_at is not None
    assert period.status(at(3, 9)) == PeriodStatus.DONE
    assert Period.objects.with_status(at(3, 9)).get(pk=period.pk).status_code == PeriodStatus.DONE
    for hour in (9, 10, 11):
        run(at(3, hour))
    assert cycle_jobs(made) == [JobKind.CLEAR]


def test_a_quarterly_client_with_a_retired_sub_device_gets_one_summary_not_one_per_pass(agent):
    made, good = client_with_a_retired_sub_device(agent, taxpayer_kind="small_scale")  # November: no return
    run(at(1, 0, 6))
    succeed_all(agent, at(1, 0, 10), reading("2026-12-01", "2027-01-20", at(1, 0, 10)))
    for minute in (15, 30, 45):
        run(at(1, 1, minute))
        succeed_all(agent, at(1, 1, minute + 1), reading("2026-12-01", "2027-01-20", at(1, 1, minute + 1)))
    assert len(cycle_jobs(made)) == 1  # before: one more 抄报 every pass
    # One device in service and no return due: 抄报并清卡 at once, and the period is done.
    assert cycle_jobs(made) == [JobKind.UPLOAD_AND_CLEAR]
    period = Period.objects.get(client=made, month=NOV)
    assert period.summary_uploaded_at is not None and period.cleared_at is not None


def test_the_status_does_not_wait_for_a_retired_device_nor_read_its_lock(agent):
    made, _good = client_with_a_retired_sub_device(agent)  # the retired one's lock date has passed
    period = Period.objects.create(client=made, month=NOV, deadline=dt.date(2026, 12, 15))
    assert period.status(at(2, 9)) == PeriodStatus.SUMMARY_DUE
    assert Period.objects.with_status(at(2, 9)).get(pk=period.pk).status_code == PeriodStatus.SUMMARY_DUE


def test_a_client_whose_only_device_is_retired_takes_no_job(agent):
    made = make_client()
    make_device(made, agent=agent, present=True, health=Health.RETIRED, lock_date=dt.date(2026, 12, 15))
    run(at(1, 0, 6))
    assert not Job.objects.filter(device__client=made).exists()


def test_the_autopilot_never_repeats_a_success_whatever_the_period_says(agent, caplog):
    """Two good devices: the main one's 清卡 succeeded while the sub device's is still under way.
    The period waits for both; the main device gets no second 清卡 (before, one per pass)."""
    made = make_client()
    main = make_device(made, agent=agent, present=True, lock_date=dt.date(2026, 12, 15), monitored_at=at(3, 0))
    sub = make_device(made, agent=agent, present=True, sub_number=1, lock_date=dt.date(2026, 12, 15))
    period = Period.objects.create(
        client=made,
        month=NOV,
        deadline=dt.date(2026, 12, 15),
        summary_uploaded_at=at(1, 1),
        return_filed_on=dt.date(2026, 12, 2),
    )
    Job.objects.create(kind=JobKind.CLEAR, device=main, period=period, state=JobState.SUCCEEDED, finished_at=at(3, 7))
    Job.objects.create(kind=JobKind.CLEAR, device=sub, period=period, state=JobState.RUNNING, attempts=1)
    with caplog.at_level("WARNING", logger="apps.autopilot.cycle"):
        made_now = run(at(3, 8))
    assert made_now[JobKind.CLEAR] == 0
    assert Job.objects.filter(device=main, kind=JobKind.CLEAR).count() == 1
    assert "already succeeded" in caplog.text


def test_a_batch_and_the_counts_leave_a_retired_device_out(agent, users):
    made, good = client_with_a_retired_sub_device(agent)  # the retired one is not plugged in
    found = candidates(JobKind.UPLOAD_SUMMARY, NOV, {}, at(2, 9))
    assert [c.device for c in found if c.client == made] == [good]
    assert missing_device_count(Client.objects.filter(pk=made.pk)) == 0
    listed = listed_clients(users["admin"], NOV, at(2, 9)).get(pk=made.pk)
    assert listed.device_count == 1
