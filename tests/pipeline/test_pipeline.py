"""The site side of the pipeline, through the agent API as an agent calls it."""

import datetime as dt
import hashlib
import hmac

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from apps.audit.models import AuditEvent
from apps.core import clock
from apps.devices.models import Agent, Health
from apps.jobs import messaging, requesting
from apps.jobs.models import Job, JobState
from apps.jobs.upkeep import expire_leases, resend_lost
from apps.operations.sweeper import sweep
from tests.agent_calls import CLAIM, claim, report
from tests.factories import make_agent, make_client, make_device, make_period

MONITORING_CLEARED = {
    "zxbsrq": "2026-11-03",
    "kpjzsj": "2026-12-15",
    "clock": "2026-11-05T10:00:00+08:00",
    "simulated": True,
}


@pytest.fixture
def sent(monkeypatch):
    """The Celery messages the site sends (the broker itself is exercised by the end-to-end tests)."""
    messages = []
    monkeypatch.setattr(
        messaging, "_publish", lambda producer, queue, args: messages.append((messaging.TASK_NAME, args, queue))
    )
    return messages


@pytest.fixture
def setup(db, django_capture_on_commit_callbacks):
    agent, token = make_agent()
    client = make_client()
    device = make_device(client, agent=agent, present=True, simulated=True)
    period = make_period(
        client,
        month=dt.date(2026, 10, 1),
        deadline=timezone.localdate() + dt.timedelta(days=10),
        summary_uploaded_at=timezone.now(),
        return_filed_on=timezone.localdate(),
    )
    agent.online = True
    agent.save()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Agent {token}")
    return {
        "agent": agent,
        "token": token,
        "device": device,
        "period": period,
        "api": api,
        "commit": django_capture_on_commit_callbacks,
    }


def ask(setup, kind="clear"):
    with setup["commit"](execute=True):
        jobs, skipped = requesting.request_jobs(kind, [setup["device"]], period=setup["period"])
    assert not skipped
    return jobs[0]


def sweep_now(setup, now=None):
    with setup["commit"](execute=True):
        return sweep(now)


def result(setup, job, **fields):
    body = {"attempt": job.attempts, "outcome": "succeeded", "monitoring": MONITORING_CLEARED, **fields}
    return report(setup["api"], job.pk, body)


def test_the_message_carries_only_the_job_id_attempt_and_signature(setup, sent):
    job = ask(setup)
    ((name, args, queue),) = sent
    key = hashlib.sha256(f"qingka-job-signing:{setup['token']}".encode()).digest()
    assert (name, queue) == ("qingka.run_job", f"agent.{setup['agent'].pk}")
    assert args == [job.pk, 1, hmac.new(key, f"{job.pk}:1".encode(), hashlib.sha256).hexdigest()]
    assert Job.objects.get(pk=job.pk).state == JobState.QUEUED


def test_no_message_before_the_transaction_commits(setup, sent):
    with setup["commit"](execute=False) as callbacks:
        requesting.request_jobs("clear", [setup["device"]], period=setup["period"])
    assert sent == [] and len(callbacks) == 1


def test_claim_hands_over_the_passwords_and_a_lease(setup, sent):
    job = ask(setup)
    claimed = claim(setup["api"], job.pk)
    assert claimed["status"] == 200
    assert claimed["device"]["certificate_password"] == "12345678" and claimed["period"] == "2026-10"
    assert Job.objects.get(pk=job.pk).state == JobState.RUNNING
    assert claim(setup["api"], job.pk)["status"] == 409


def test_another_agents_job_is_not_found_and_unchanged(setup, sent):
    job = ask(setup)
    _other, other_token = make_agent()
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Agent {other_token}")
    assert claim(other, job.pk)["status"] == 404
    assert report(other, job.pk, {"attempt": 1, "outcome": "succeeded"})["status"] == 404
    assert Job.objects.get(pk=job.pk).state == JobState.QUEUED


def test_a_user_token_is_not_an_agent_token(setup, api):
    job = ask(setup)
    body = {"jobs": [{"id": job.pk, "attempt": 1}]}
    assert api.post(CLAIM, body, format="json").status_code in (401, 403)
    assert APIClient().get("/api/v1/agent/me/").status_code in (401, 403)


def test_result_updates_job_device_period_and_audit_once(setup, sent):
    job = ask(setup)
    claim(setup["api"], job.pk)
    assert result(setup, job)["status"] == 200
    assert result(setup, job)["status"] == 200  # the outbox re-sends: idempotent
    job.refresh_from_db()
    setup["device"].refresh_from_db()
    setup["period"].refresh_from_db()
    assert job.state == JobState.SUCCEEDED and setup["device"].monitoring["kpjzsj"] == "2026-12-15"
    assert setup["period"].cleared_at is not None and setup["period"].status() == "done"
    actions = list(AuditEvent.objects.order_by("id").values_list("action", flat=True))
    assert actions == ["job.requested", "job.started", "job.succeeded", "period.cleared"]
    assert AuditEvent.objects.filter(action="job.succeeded", simulated=True, actor_agent=setup["agent"]).exists()


def test_a_retryable_failure_is_scheduled_again_and_a_password_failure_never(setup, sent, settings):
    settings.QINGKA_RETRY_BASE_SECONDS = 0
    job = ask(setup)
    claim(setup["api"], job.pk)
    result(setup, job, outcome="failed", error_code="TRANSFER_FAILED", monitoring=None)
    job.refresh_from_db()
    assert (job.state, job.error_code) == (JobState.SCHEDULED, "TRANSFER_FAILED")
    sweep_now(setup)
    job.refresh_from_db()
    assert (job.state, job.attempts) == (JobState.QUEUED, 2) and len(sent) == 2
    claim(setup["api"], job.pk, 2)
    result(setup, job, outcome="failed", error_code="CERT_PASSWORD_WRONG", raw_code="0x0963c6", monitoring=None)
    job.refresh_from_db()
    assert (job.state, job.raw_code) == (JobState.FAILED, "0x0963c6")
    sweep_now(setup)
    assert Job.objects.get(pk=job.pk).state == JobState.FAILED and len(sent) == 2


def test_a_stale_attempts_result_is_refused(setup, sent):
    job = ask(setup)
    claim(setup["api"], job.pk)
    assert report(setup["api"], job.pk, {"attempt": 2, "outcome": "succeeded"})["status"] == 409
    assert Job.objects.get(pk=job.pk).state == JobState.RUNNING


def test_expired_lease_returns_the_job_with_one_more_attempt(setup, sent):
    job = ask(setup)
    claim(setup["api"], job.pk)
    sweep_now(setup, timezone.now() + dt.timedelta(hours=1))
    job.refresh_from_db()
    assert (job.state, job.attempts) == (JobState.QUEUED, 2)
    assert sent[-1][1][:2] == [job.pk, 2]


def test_a_late_result_no_one_else_claimed_is_the_jobs_result(setup, sent):
    job = ask(setup)
    claim(setup["api"], job.pk)
    sweep_now(setup, timezone.now() + dt.timedelta(hours=1))  # the lease ran out: queued at attempt 2
    assert result(setup, job, attempt=1)["status"] == 200
    job.refresh_from_db()
    assert (job.state, job.attempts) == (JobState.SUCCEEDED, 1)
    # the message of attempt 2 is refused at its claim: the device is not cleared again
    assert claim(setup["api"], job.pk, 2)["status"] == 409
    assert result(setup, job, attempt=1)["status"] == 200  # a second copy changes nothing
    assert Job.objects.get(pk=job.pk).late_results == []


@pytest.mark.faults
@pytest.mark.parametrize("lease_expired_in_between", [False, True])
def test_a_replayed_result_changes_nothing_after_the_next_attempt_was_queued(
    setup, sent, settings, lease_expired_in_between
):
    """Issue 27: idempotent on (job, attempt). Attempt 1 failed for a reason worth retrying and
    attempt 2 was queued; attempt 1's result sent again (an outbox replayed) moved the job back."""
    settings.QINGKA_RETRY_BASE_SECONDS = 0
    job = ask(setup)
    claim(setup["api"], job.pk)
    failed = {"attempt": 1, "outcome": "failed", "error_code": "TRANSFER_FAILED", "monitoring": None}
    assert result(setup, job, **failed)["status"] == 200
    sweep_now(setup)
    if lease_expired_in_between:  # attempt 2 claimed, its lease ran out: queued at attempt 3
        claim(setup["api"], job.pk, 2)
        with setup["commit"](execute=True):
            expire_leases(timezone.now() + dt.timedelta(hours=1))
    job.refresh_from_db()
    expected = 3 if lease_expired_in_between else 2
    assert (job.state, job.attempts) == (JobState.QUEUED, expected)
    events = AuditEvent.objects.count()

    for replayed in (failed, {**failed, "outcome": "succeeded", "error_code": None}):
        assert result(setup, job, **replayed)["status"] == 200
        job.refresh_from_db()
        assert (job.state, job.attempts) == (JobState.QUEUED, expected)
    assert AuditEvent.objects.count() == events and job.late_results == []
    assert claim(setup["api"], job.pk, expected)["status"] == 200  # the queued attempt still runs


@pytest.mark.faults
def test_the_jobs_a_restarted_agent_no_longer_lists_go_back_to_the_queue_at_once(setup, sent):
    """Issue 27: an agent killed and restarted within seconds forgot the jobs it had claimed; they
    waited out the whole lease although its next heartbeat no longer listed them."""
    agent, device = setup["agent"], setup["device"]
    devices = [device] + [make_device(make_client(), agent=agent, present=True, simulated=True) for _ in range(2)]
    with setup["commit"](execute=True):
        jobs, skipped = requesting.request_jobs("read_status", devices)
    assert not skipped
    forgotten, listed, just_claimed = jobs
    for job in (forgotten, listed, just_claimed):
        claim(setup["api"], job.pk)
    now = timezone.now()
    Job.objects.filter(pk__in=[forgotten.pk, listed.pk]).update(started_at=now - dt.timedelta(seconds=20))
    Agent.objects.filter(pk=agent.pk).update(last_heartbeat_at=now - dt.timedelta(seconds=1))
    rows = [
        {"slot": f"sim-{n}", "kind": d.kind, "driver": "simulated", "device_number": d.number, "simulated": True}
        for n, d in enumerate(devices)
    ]
    body = {"version": "0.3.0", "hostname": "cabinet-1", "devices": [{**row, "busy": False} for row in rows]}
    with setup["commit"](execute=True):
        answer = setup["api"].post("/api/v1/agent/heartbeat/", {**body, "jobs": [listed.pk]}, format="json")
    assert answer.status_code == 200
    states = dict(Job.objects.values_list("pk", "state"))
    assert states[forgotten.pk] == JobState.QUEUED and Job.objects.get(pk=forgotten.pk).attempts == 2
    assert sent[-1][1][:2] == [forgotten.pk, 2]  # its next attempt's message went at once
    # The job still listed runs on; one claimed a moment ago may not be in the list yet.
    assert states[listed.pk] == states[just_claimed.pk] == JobState.RUNNING
    assert AuditEvent.objects.get(action="job.lease_expired").after["not_listed_by_agent"] is True
    # A heartbeat without its list of jobs does not read, and releases nothing.
    Job.objects.filter(pk=just_claimed.pk).update(started_at=now - dt.timedelta(seconds=20))
    assert setup["api"].post("/api/v1/agent/heartbeat/", body, format="json").status_code == 400
    assert Job.objects.get(pk=just_claimed.pk).state == JobState.RUNNING


def test_a_result_too_late_is_kept_as_evidence(setup, sent):
    job = ask(setup)
    claim(setup["api"], job.pk)
    sweep_now(setup, timezone.now() + dt.timedelta(hours=1))
    claim(setup["api"], job.pk, 2)  # attempt 2 runs
    assert result(setup, job, attempt=1, outcome="failed", error_code="TRANSFER_FAILED")["status"] == 200
    job.refresh_from_db()
    assert (job.state, job.attempts) == (JobState.RUNNING, 2)
    assert [(e["attempt"], e["outcome"]) for e in job.late_results] == [(1, "failed")]
    assert AuditEvent.objects.filter(action="job.late_result_kept", object_id=str(job.pk)).count() == 1
    assert result(setup, job, attempt=3)["status"] == 409  # an attempt that never was


def test_offline_agents_are_marked_and_new_jobs_skip_them_saying_why(setup, sent):
    agent = setup["agent"]
    agent.last_heartbeat_at = timezone.now() - dt.timedelta(minutes=5)
    agent.save()
    sweep_now(setup)
    agent.refresh_from_db()
    assert not agent.online and AuditEvent.objects.filter(action="agent.offline").exists()
    jobs, skipped = requesting.request_jobs("clear", [setup["device"]], period=setup["period"])
    assert jobs == [] and "离线" in skipped[0][1]


def test_devices_that_are_not_good_are_skipped(setup, sent):
    setup["device"].health = Health.MAINTENANCE
    jobs, skipped = requesting.request_jobs("clear", [setup["device"]], period=setup["period"])
    assert jobs == [] and "维护中" in skipped[0][1]


def test_three_final_failures_make_the_device_bad(setup, sent):
    for _ in range(3):
        job = ask(setup)
        claim(setup["api"], job.pk)
        result(setup, job, outcome="failed", error_code="RECONCILIATION_FAILED", monitoring=None)
    setup["device"].refresh_from_db()
    assert setup["device"].health == Health.BAD
    assert AuditEvent.objects.filter(action="device.health_bad").count() == 1


def test_heartbeat_marks_present_missing_and_keeps_unknown_devices(setup):
    agent, device = setup["agent"], setup["device"]
    rows = [
        {
            "slot": "sim-1",
            "kind": "tax_disk",
            "driver": "simulated",
            "device_number": device.number,
            "simulated": True,
            "busy": False,
            "monitoring": MONITORING_CLEARED,
        },
        {"slot": "1-1.2", "kind": "ukey", "driver": "none", "device_number": None, "simulated": False, "busy": False},
    ]
    body = {"version": "0.1.0", "hostname": "cabinet-1", "devices": rows, "jobs": []}
    assert setup["api"].post("/api/v1/agent/heartbeat/", body, format="json").status_code == 200
    device.refresh_from_db()
    agent.refresh_from_db()
    assert (device.slot, device.present, device.monitoring["kpjzsj"]) == ("sim-1", True, "2026-12-15")
    assert agent.inventory.count() == 2 and agent.hostname == "cabinet-1"
    setup["api"].post("/api/v1/agent/heartbeat/", {**body, "devices": rows[1:]}, format="json")
    device.refresh_from_db()
    assert not device.present and AuditEvent.objects.filter(action="device.missing").count() == 1
    bad = setup["api"].post(
        "/api/v1/agent/heartbeat/",
        {**body, "devices": [{"slot": "x", "driver": "none", "kind": "floppy"}]},
        format="json",
    )
    assert bad.status_code == 400


def test_a_partial_heartbeat_changes_only_the_devices_it_lists(setup, sent):
    agent, device, api = setup["agent"], setup["device"], setup["api"]
    other = make_device(make_client(), agent=agent, present=True, simulated=True)
    row = {"slot": "sim-1", "kind": "tax_disk", "driver": "simulated", "simulated": True, "busy": False}
    rows = [dict(row, device_number=device.number), dict(row, slot="sim-2", device_number=other.number)]
    full = {"version": "0.3.0", "hostname": "cabinet-1", "devices": rows, "jobs": []}
    assert api.post("/api/v1/agent/heartbeat/", full, format="json").status_code == 200
    job = ask(setup)
    api.post("/api/v1/agent/jobs/claim/", {"jobs": [{"id": job.pk, "attempt": 1}]}, format="json")
    lease = Job.objects.get(pk=job.pk).lease_expires_at
    busy = [dict(rows[0], busy=True, monitoring=MONITORING_CLEARED)]
    partial = {**full, "devices": busy, "changed_only": True, "jobs": [job.pk]}
    assert api.post("/api/v1/agent/heartbeat/", partial, format="json").status_code == 200
    device.refresh_from_db()
    other.refresh_from_db()
    assert device.busy and device.monitoring["kpjzsj"] == "2026-12-15"
    assert other.present and not other.busy  # not listed: unchanged, not missing
    assert agent.inventory.count() == 2
    assert not AuditEvent.objects.filter(action="device.missing").exists()
    assert Job.objects.get(pk=job.pk).lease_expires_at > lease
    assert api.get("/api/v1/agent/me/").json()["partial_heartbeats"] is True


def test_a_heartbeat_renews_the_leases_of_its_own_running_jobs_only(setup, sent):
    api = setup["api"]
    mine = ask(setup)
    api.post("/api/v1/agent/jobs/claim/", {"jobs": [{"id": mine.pk, "attempt": 1}]}, format="json")
    queued = ask(setup, kind="read_status")
    theirs = Job.objects.create(
        kind="clear",
        device=make_device(make_client(), agent=make_agent()[0], present=True),
        state=JobState.RUNNING,
        attempts=1,
        lease_expires_at=timezone.now(),
    )
    leases = dict(Job.objects.values_list("pk", "lease_expires_at"))
    body = {"version": "0.3.0", "hostname": "cabinet-1", "devices": [], "jobs": [mine.pk, queued.pk, theirs.pk]}
    with CaptureQueriesContext(connection) as queries:
        assert api.post("/api/v1/agent/heartbeat/", body, format="json").status_code == 200
    after = dict(Job.objects.values_list("pk", "lease_expires_at"))
    assert after[mine.pk] > leases[mine.pk]
    assert (after[queued.pk], after[theirs.pk]) == (leases[queued.pk], leases[theirs.pk])
    # By the jobs' own ids, not `id IN (SELECT … JOIN …)`, which stale statistics planned as a
    # nested loop over every job for each one (apps/agent_api/heartbeat.renew_leases).
    (renewal,) = [q["sql"] for q in queries if q["sql"].startswith('UPDATE "jobs_job" SET "lease_expires_at"')]
    assert "JOIN" not in renewal and '"jobs_job"."id" IN' in renewal


def test_staff_api_asks_cancels_and_retries(setup, sent, api):
    response = api.post("/api/v1/jobs/", {"kind": "clear", "period": setup["period"].pk}, format="json")
    assert response.status_code == 201, response.json()
    job_id = response.json()["jobs"][0]["id"]
    assert api.post(f"/api/v1/jobs/{job_id}/cancel/").status_code == 200
    assert api.post(f"/api/v1/jobs/{job_id}/cancel/").status_code == 409
    assert api.post(f"/api/v1/jobs/{job_id}/retry/").status_code == 409
    bad = api.post("/api/v1/jobs/", {"kind": "clear", "device": setup["device"].pk}, format="json")
    assert bad.status_code == 400 and "period" in bad.json()


def test_an_agent_cannot_take_a_device_another_online_agent_holds(setup):
    intruder, token = make_agent()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Agent {token}")
    row = {
        "slot": "9-9",
        "kind": "tax_disk",
        "driver": "simulated",
        "device_number": setup["device"].number,
        "simulated": True,
        "busy": False,
        "monitoring": {"kpjzsj": "2000-01-01"},
    }
    assert (
        api.post(
            "/api/v1/agent/heartbeat/", {"version": "x", "hostname": "h", "devices": [row], "jobs": []}, format="json"
        ).status_code
        == 200
    )
    setup["device"].refresh_from_db()
    assert (setup["device"].agent, setup["device"].slot) == (setup["agent"], "")
    assert setup["device"].monitoring is None
    intruder.refresh_from_db()
    assert intruder.inventory.get().device_number == setup["device"].number


def test_the_events_of_jobs_requested_in_bulk_are_those_log_would_write(setup, sent, users):
    from apps.audit import log

    (job,) = requesting.request_jobs("clear", [setup["device"]], period=setup["period"], user=users["admin"])[0]
    made = AuditEvent.objects.get(action="job.requested")
    expected = log.build(
        "job.requested",
        job,
        user=users["admin"],
        simulated=True,
        after={"kind": "clear", "period": str(setup["period"]), "run_after": job.run_after},
    )
    fields = ("actor_user_id", "actor_label", "object_type", "object_id", "object_label", "client_id", "simulated")
    assert [getattr(made, f) for f in fields] == [getattr(expected, f) for f in fields]
    assert made.after["kind"] == "clear" and made.after["period"] == str(setup["period"])
    assert dt.datetime.fromisoformat(made.after["run_after"]) == job.run_after


def test_a_device_moves_to_another_agent_only_when_a_person_approves(setup, sent, users):
    """Listing a device's number in a heartbeat, even while its holder is offline, asks for the
    move; the passwords go on to the holder until a person approves, and both steps are audited."""
    from apps.devices.services import approve_move

    device = setup["device"]
    setup["agent"].online = False
    setup["agent"].save()
    intruder, token = make_agent()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Agent {token}")
    row = {"slot": "9-9", "kind": "tax_disk", "driver": "simulated", "device_number": device.number}
    assert (
        api.post(
            "/api/v1/agent/heartbeat/", {"version": "x", "hostname": "h", "devices": [row], "jobs": []}, format="json"
        ).status_code
        == 200
    )
    device.refresh_from_db()
    assert (device.agent, device.pending_agent) == (setup["agent"], intruder)
    assert AuditEvent.objects.filter(action="device.move_requested", object_id=str(device.pk)).count() == 1
    job = Job.objects.create(
        kind="read_status", device=device, state=JobState.QUEUED, attempts=1, queued_at=timezone.now()
    )
    assert claim(api, job.pk)["status"] == 404

    assert approve_move(device, users["admin"])
    device.refresh_from_db()
    assert (device.agent, device.pending_agent) == (intruder, None)
    assert (device.present, device.slot) == (True, "9-9")  # at once: not at the holder's next full heartbeat
    event = AuditEvent.objects.get(action="device.move_approved")
    assert event.actor_user == users["admin"] and event.after == {"agent": intruder.name}
    # The holder's heartbeats find it present already, so its arrival is told by the approval.
    arrived = AuditEvent.objects.get(action="device.present", object_id=str(device.pk))
    assert arrived.actor_agent == intruder and arrived.after == {"agent": intruder.name, "slot": "9-9"}
    assert arrived.source == "h"
    claimed = claim(api, job.pk)
    assert claimed["status"] == 200 and claimed["device"]["certificate_password"]


def test_a_device_moved_to_an_offline_agent_shows_missing_until_the_agent_reports_it(setup, users):
    from apps.devices.services import approve_move

    device = setup["device"]
    holder, token = make_agent()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Agent {token}")
    row = {"slot": "9-9", "kind": "tax_disk", "driver": "simulated", "device_number": device.number}
    body = {"version": "x", "hostname": "h", "devices": [row], "jobs": []}
    assert api.post("/api/v1/agent/heartbeat/", body, format="json").status_code == 200
    Agent.objects.filter(pk=holder.pk).update(online=False)  # the sweeper found it silent

    assert approve_move(device, users["admin"])
    device.refresh_from_db()
    assert (device.agent, device.present) == (holder, False)
    assert not AuditEvent.objects.filter(action="device.present", actor_agent=holder).exists()
    assert api.post("/api/v1/agent/heartbeat/", body, format="json").status_code == 200
    device.refresh_from_db()
    assert (device.agent, device.present, device.slot) == (holder, True, "9-9")
    assert AuditEvent.objects.filter(action="device.present", actor_agent=holder).count() == 1


def test_a_result_parked_in_the_agents_outbox_is_reported_once(setup, sent):
    job = ask(setup)
    body = {"version": "x", "hostname": "h", "devices": [], "jobs": [], "parked": [job.pk]}
    for _ in range(2):
        assert setup["api"].post("/api/v1/agent/heartbeat/", body, format="json").status_code == 200
    event = AuditEvent.objects.get(action="job.result_parked")
    assert event.object_id == str(job.pk) and event.actor_agent == setup["agent"]


def test_what_a_summary_uploaded_is_kept_with_the_period(setup, sent):
    setup["period"].summary_uploaded_at = None
    setup["period"].save()
    job = ask(setup, kind="upload_summary")
    claim(setup["api"], job.pk)
    summary = {"004": {"count": 3, "amount": "3000.00", "tax": "390.00"}}
    monitoring = {**MONITORING_CLEARED, "kpjzsj": "2026-11-16", "summary": summary}
    assert result(setup, job, monitoring=monitoring)["status"] == 200
    setup["period"].refresh_from_db()
    assert setup["period"].invoice_summary == {setup["device"].number: summary}


def test_a_new_job_whose_send_failed_is_sent_again_once_it_has_waited(setup, monkeypatch, settings):
    """A new job carries its send's stamp from the start; a send that never went is still sent
    again by the sweep, once the job has waited QINGKA_RESEND_AFTER_SECONDS in the queue."""

    def broker_away(producer, queue, args):
        raise ConnectionError("broker away")

    monkeypatch.setattr(messaging, "_publish", broker_away)
    job = ask(setup)
    sent = []
    monkeypatch.setattr(messaging, "_publish", lambda producer, queue, args: sent.append(args))
    assert resend_lost(clock.now()) == 0 and sent == []  # it may still be on its way
    later = clock.now() + dt.timedelta(seconds=settings.QINGKA_RESEND_AFTER_SECONDS + 1)
    assert resend_lost(later) == 1 and [args[:2] for args in sent] == [[job.pk, 1]]
    job.refresh_from_db()
    assert job.last_sent_at > job.queued_at  # stamped by that send
