"""What goes wrong at month-end, end to end: refusals that must not be retried, failures that
must be, an agent killed in the middle of a clear, and messages that are not what they claim."""

import datetime as dt
import time

import pytest

from apps.audit.models import AuditEvent
from apps.core import clock
from apps.devices.models import Device
from apps.jobs.celery import app as celery_app
from apps.jobs.models import Job, JobState
from apps.jobs.requesting import request_jobs
from apps.periods.models import Period
from tests.factories import make_agent, make_client, make_device

from .conftest import device_spec, register_clients, wait_for_jobs
from .processes import wait_until

MONTH, CLOCK = dt.date(2026, 11, 1), "2026-12-03T09:00:00+08:00"
pytestmark = [pytest.mark.integration, pytest.mark.clock(CLOCK)]


def start(stack, specs, sites=None, **cabinet_extra):
    register_clients([{**spec, "name": f"客户{spec['slot']}", **(sites or {}).get(spec["slot"], {})} for spec in specs])
    cabinet = stack.cabinet("cabinet-f", specs, **cabinet_extra)
    cabinet.start_agent(expect_devices=len(specs))
    return cabinet


def ask(kind, number, filed=True):
    device = Device.objects.select_related("agent", "client").get(number=number)
    period = Period.for_client(device.client, MONTH)
    if filed and period.return_filed_on is None:
        period.return_filed_on = clock.today()
        period.save()
    jobs, skipped = request_jobs(kind, [device], period=period)
    assert not skipped, skipped
    return jobs[0]


def test_unfiled_return_wrong_password_and_transfer_failures(stack):
    unfiled, wrong_password, flaky = device_spec(1), device_spec(2, kind="ukey"), device_spec(3, transfer_failures=2)
    cabinet = start(
        stack,
        [unfiled, wrong_password, flaky],
        sites={"sim-2": {"site_certificate_password": "00000000"}},
        bureau={"returns_filed_by_default": True, "unfiled": {unfiled["taxpayer_id"]: ["2026-11"]}},
    )
    tries_before = cabinet.simulated_devices()[wrong_password["device_number"]]["monitoring"]["cert_tries_left"]

    jobs = [
        ask("upload_and_clear", unfiled["device_number"]),
        ask("upload_summary", wrong_password["device_number"]),
        ask("upload_and_clear", flaky["device_number"]),
    ]
    no_return, password, transfer = wait_for_jobs(jobs)

    assert (no_return.state, no_return.error_code, no_return.attempts) == (JobState.FAILED, "RETURN_NOT_FILED", 1)
    assert (password.state, password.error_code, password.attempts) == (JobState.FAILED, "CERT_PASSWORD_WRONG", 1)
    assert password.raw_code == f"0x0963c{tries_before - 1}"
    assert (transfer.state, transfer.attempts) == (JobState.SUCCEEDED, 3)

    time.sleep(3)  # several sweeps later: a password failure is still not retried
    assert Job.objects.get(pk=password.pk).attempts == 1
    devices = cabinet.simulated_devices()
    assert devices[wrong_password["device_number"]]["monitoring"]["cert_tries_left"] == tries_before - 1
    assert devices[flaky["device_number"]]["monitoring"]["clear_count"] == 1
    assert list(
        AuditEvent.objects.filter(object_type="jobs.job", object_id=str(transfer.pk))
        .values_list("action", flat=True)
        .order_by("id")
    ) == [
        "job.requested",
        "job.started",
        "job.retry_scheduled",
        "job.started",
        "job.retry_scheduled",
        "job.started",
        "job.succeeded",
    ]
    failed = AuditEvent.objects.get(action="job.failed", object_id=str(password.pk))
    assert failed.after["remedy"].startswith("核对并更正证书口令")


def test_agent_killed_during_a_clear_finishes_it_once_after_restart(stack):
    slow = device_spec(4, latency_seconds=4)
    cabinet = start(stack, [slow])
    wait_for_jobs([ask("upload_summary", slow["device_number"])])

    job = ask("clear", slow["device_number"])
    wait_until(lambda: Job.objects.get(pk=job.pk).state == JobState.RUNNING, timeout=30, what="the clear to start")
    time.sleep(1)
    cabinet.kill_agent()
    assert Job.objects.get(pk=job.pk).state == JobState.RUNNING

    cabinet.start_agent(expect_devices=1)
    (done,) = wait_for_jobs([job], timeout=90)
    assert (done.state, done.attempts) == (JobState.SUCCEEDED, 2)
    assert cabinet.simulated_devices()[slow["device_number"]]["monitoring"]["clear_count"] == 1
    assert AuditEvent.objects.filter(action="job.lease_expired", object_id=str(job.pk)).exists()
    period = Period.objects.get(client__taxpayer_id=slow["taxpayer_id"], month=MONTH)
    assert period.status() == "done"


def test_forged_messages_are_refused_and_change_nothing(stack):
    spec = device_spec(5)
    cabinet = start(stack, [spec])
    device = Device.objects.get(number=spec["device_number"])
    other_agent, _ = make_agent("cabinet-elsewhere")
    elsewhere = make_device(make_client(), agent=other_agent, present=True)
    # Rows queued by hand: no genuine message was ever sent for them.
    mine = Job.objects.create(kind="clear", device=device, state=JobState.QUEUED, attempts=1, queued_at=clock.now())
    theirs = Job.objects.create(
        kind="clear", device=elsewhere, state=JobState.QUEUED, attempts=1, queued_at=clock.now()
    )
    queue = cabinet.agent.queue_name
    forged = [
        [mine.pk, 1, "0" * 64],  # a bad signature
        [mine.pk, 1, other_agent.sign(mine.pk, 1)],  # signed with another agent's key
        [theirs.pk, 1, cabinet.agent.sign(theirs.pk, 1)],  # well signed, but another agent's job
    ]
    for args in forged:
        celery_app.send_task("qingka.run_job", args=args, queue=queue)
    wait_until(lambda: cabinet.process.log().count("message dropped") >= 3, timeout=30, what="the agent to drop them")
    for job in (mine, theirs):
        job.refresh_from_db()
        assert (job.state, job.attempts, job.started_at) == (JobState.QUEUED, 1, None)
    assert cabinet.simulated_devices()[spec["device_number"]]["monitoring"]["clear_count"] == 0
    assert not AuditEvent.objects.filter(action="job.started").exists()
