"""A client's main and sub devices on two agents, their clears reported at the same moment: the
period ends cleared whichever result commits first. Each result judges the period with the other
device's reading; without a lock on the period both read the other's old one, and the period
stayed 待清卡 for good, since the autopilot repeats no job that succeeded."""

import datetime as dt
import threading

import pytest
import time_machine
from django.db import connection

from apps.jobs import outcomes
from apps.jobs.models import Job, JobKind, JobState
from apps.periods.models import Period
from tests.factories import make_agent, make_client, make_device, make_period

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]
NOV = dt.date(2026, 11, 1)
NOW = dt.datetime(2026, 12, 10, 10, 0, tzinfo=dt.UTC)


def test_two_agents_clearing_one_clients_devices_at_once_clear_its_period(monkeypatch):
    client = make_client()
    jobs = {}
    for sub_number in (0, 1):
        agent, _token = make_agent()
        device = make_device(client, agent=agent, present=True, sub_number=sub_number)
        jobs[agent] = Job.objects.create(device=device, kind=JobKind.CLEAR, state=JobState.RUNNING, attempts=1)
    period = make_period(
        client, month=NOV, deadline=dt.date(2026, 12, 15), summary_uploaded_at=NOW, return_filed_on=NOW.date()
    )
    Job.objects.update(period=period)
    cleared = {"zxbsrq": "2026-12-02", "kpjzsj": "2027-01-15", "clock": NOW.isoformat(), "simulated": True}

    # Both readings are written before either result judges the period, as when the two agents'
    # calls come together; with the period locked the second waits, so the meeting times out.
    both_read = threading.Barrier(2, timeout=3)
    record_reading = outcomes.record_reading

    def reading_then_meet(*args, **kwargs):
        record_reading(*args, **kwargs)
        try:
            both_read.wait()
        except threading.BrokenBarrierError:
            pass

    monkeypatch.setattr(outcomes, "record_reading", reading_then_meet)
    errors = []

    def report(agent, job):
        try:
            with time_machine.travel(NOW, tick=False):
                outcome = outcomes.accept_results(
                    agent, {job.pk: {"attempt": 1, "outcome": "succeeded", "monitoring": cleared}}
                )
            assert isinstance(outcome[job.pk], Job)
        except Exception as error:  # noqa: BLE001 (handed to the test's thread)
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=report, args=pair) for pair in jobs.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert set(Job.objects.values_list("state", flat=True)) == {JobState.SUCCEEDED}
    assert Period.objects.get(pk=period.pk).cleared_at is not None
