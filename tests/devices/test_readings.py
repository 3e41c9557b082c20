"""A device's monitoring history: kept where monitoring arrives (heartbeat, job result), one row
per change; and the device page that shows it with the device's jobs and failures."""

import datetime as dt

import pytest
from django.utils import timezone

from apps.devices.models import Reading
from apps.devices.services import record_reading
from apps.jobs.models import Job, JobKind, JobState
from tests.agent_calls import claim
from tests.factories import make_client, make_device, make_period
from tests.pipeline.test_pipeline import MONITORING_CLEARED, ask, result, sent, setup  # noqa: F401

AT = dt.datetime(2026, 11, 5, 2, 0, tzinfo=dt.UTC)


@pytest.mark.django_db
def test_a_reading_is_kept_only_when_the_data_change():
    device = make_device()
    assert record_reading(device, {"kpjzsj": "2026-11-16", "clock": "2026-11-05T10:00:00"}, AT)
    later = AT + dt.timedelta(minutes=1)
    assert not record_reading(device, {"kpjzsj": "2026-11-16", "clock": "2026-11-05T10:01:00"}, later)
    assert not record_reading(device, None, later) and not record_reading(device, {}, later)
    changed = record_reading(device, {"kpjzsj": "2026-12-15", "clock": "2026-11-05T10:02:00"}, later)
    back = record_reading(device, {"kpjzsj": "2026-11-16"}, later + dt.timedelta(minutes=1))
    assert changed and back  # the same data again after a change is a new reading
    assert list(device.readings.values_list("monitoring__kpjzsj", flat=True)) == [
        "2026-11-16",
        "2026-12-15",
        "2026-11-16",
    ]


def heartbeat(setup, monitoring):  # noqa: F811
    row = {
        "slot": "sim-1",
        "kind": "tax_disk",
        "driver": "simulated",
        "device_number": setup["device"].number,
        "simulated": True,
        "busy": False,
        "monitoring": monitoring,
    }
    body = {"version": "0.1.0", "hostname": "cabinet-1", "devices": [row], "jobs": []}
    assert setup["api"].post("/api/v1/agent/heartbeat/", body, format="json").status_code == 200


@pytest.mark.django_db
def test_heartbeats_and_job_results_keep_the_history(nov10, setup, sent):  # noqa: F811
    before = {**MONITORING_CLEARED, "kpjzsj": "2026-11-16", "zxbsrq": "2026-10-03"}
    heartbeat(setup, before)
    heartbeat(setup, {**before, "clock": "2026-11-05T10:00:09+08:00"})  # only the clock moved
    assert Reading.objects.count() == 1
    job = ask(setup)
    pipeline_job = Job.objects.get(pk=job.pk)
    claim(setup["api"], job.pk, pipeline_job.attempts)
    assert result(setup, pipeline_job)["status"] == 200
    readings = list(setup["device"].readings.order_by("at", "id"))
    assert [r.monitoring["kpjzsj"] for r in readings] == ["2026-11-16", "2026-12-15"]
    heartbeat(setup, MONITORING_CLEARED)  # the next heartbeat reports what the job left
    assert Reading.objects.count() == 2


@pytest.fixture
def device_page(users):
    mine = make_client(name="南京甲科技有限公司", staff=users["owner"])
    device = make_device(mine, number="539900000321")
    period = make_period(mine, month=dt.date(2026, 10, 1))
    now = timezone.now()
    record_reading(device, {"kpjzsj": "2026-11-16", "zxbsrq": "2026-10-03", "lxkpzs": 10}, now - dt.timedelta(days=2))
    record_reading(device, {"kpjzsj": "2026-12-15", "zxbsrq": "2026-11-03", "lxkpzs": 10}, now)
    waiting = Job.objects.create(
        kind=JobKind.CLEAR,
        device=device,
        period=period,
        state=JobState.FAILED,
        error_code="CERT_PASSWORD_WRONG",
        error_message="证书口令错误，剩余3次",
        created_at=now - dt.timedelta(hours=3),
    )
    made_good = Job.objects.create(
        kind=JobKind.UPLOAD_SUMMARY,
        device=device,
        period=period,
        state=JobState.FAILED,
        error_code="TRANSFER_FAILED",
        created_at=now - dt.timedelta(hours=2),
    )
    Job.objects.create(
        kind=JobKind.UPLOAD_SUMMARY, device=device, period=period, state=JobState.SUCCEEDED, created_at=now
    )
    return {"device": device, "waiting": waiting, "made_good": made_good}


@pytest.mark.django_db
@pytest.mark.parametrize("role, status", [("owner", 200), ("admin", 200), ("readonly", 200), ("colleague", 404)])
def test_device_page_is_seen_by_those_who_see_the_client(as_role, device_page, role, status):
    assert as_role(role).get(f"/devices/{device_page['device'].pk}/").status_code == status


@pytest.mark.django_db
def test_anonymous_is_sent_to_login(client, device_page):
    response = client.get(f"/devices/{device_page['device'].pk}/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


@pytest.mark.django_db
def test_device_page_shows_history_jobs_and_what_waits_for_a_person(as_role, device_page):
    response = as_role("owner").get(f"/devices/{device_page['device'].pk}/")
    html = response.content.decode()
    newest, oldest = response.context["readings"]
    assert newest.cells[0] == ("2026-12-15", True) and newest.cells[1] == ("2026-11-03", True)
    assert newest.cells[4] == (10, False) and oldest.cells[0] == ("2026-11-16", False)
    assert '<strong class="changed">2026-12-15</strong>' in html
    assert [job.pk for job in response.context["failures"]] == [device_page["waiting"].pk]
    assert "核对并更正证书口令" in html and len(response.context["jobs"]) == 3
    client_page = as_role("owner").get(f"/clients/{device_page['device'].client_id}/").content.decode()
    assert f'href="/devices/{device_page["device"].pk}/"' in client_page
