"""Checks before a device is touched (issue 28, docs/domain.md): a job the device refused as too
early (OUTSIDE_WINDOW) is tried again when the window opens instead of being left failed; on the
code before it, the job failed for good."""

import datetime as dt

import pytest
import time_machine

from apps.autopilot.models import Autopilot
from apps.devices.errors import error_info
from apps.jobs import outcomes, requesting
from apps.jobs.models import Job, JobKind, JobState
from apps.periods.models import Period
from apps.periods.rules import SHANGHAI, window_opens
from tests.factories import make_agent, make_client, make_device

pytestmark = pytest.mark.django_db
NOV = dt.date(2026, 11, 1)


@pytest.fixture
def agent():
    Autopilot.objects.update_or_create(pk=1, defaults={"enabled": False})
    made, _token = make_agent("一号机柜")
    made.online = True
    made.save()
    return made


def refuse(agent, job, moment, attempt):
    with time_machine.travel(moment, tick=False):
        Job.objects.filter(pk=job.pk).update(state=JobState.QUEUED, attempts=attempt)
        claimed, refused = outcomes.claim_jobs(agent, {job.pk: attempt})
        assert not refused
        message = "当前时间不在允许范围内"
        result = {"attempt": attempt, "outcome": "failed", "error_code": "OUTSIDE_WINDOW", "message": message}
        outcomes.accept_results(agent, {job.pk: result})
    job.refresh_from_db()
    return job


def test_a_job_refused_as_too_early_is_retried_when_the_window_opens(agent):
    client = make_client()
    device = make_device(client, agent=agent, present=True)
    period = Period.objects.create(client=client, month=NOV, deadline=dt.date(2026, 12, 15))
    moment = dt.datetime(2026, 12, 1, 0, 6, tzinfo=SHANGHAI)  # the site's window is open, the device says not yet
    with time_machine.travel(moment, tick=False):
        job = requesting.request_job(JobKind.UPLOAD_SUMMARY, device, period=period)
    job = refuse(agent, job, moment, 1)
    assert job.state == JobState.SCHEDULED and job.run_after == moment + outcomes.OUTSIDE_WINDOW_DELAY
    assert job.run_after >= window_opens(NOV)
    assert "自动重试" in str(error_info("OUTSIDE_WINDOW").remedy)
    job = refuse(agent, job, moment + dt.timedelta(minutes=5), job.max_attempts)
    assert job.state == JobState.FAILED  # not for ever: the job's attempts bound it
