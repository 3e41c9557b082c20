"""重新上电 on the device page: a job through the pipeline and its rules, audited; only 管理员 and the
client's 会计; the agent's result moves the job and records the reading, never the period."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from apps.audit.models import AuditEvent
from apps.jobs.models import Job, JobKind, JobState
from tests.agent_calls import claim, report
from tests.factories import make_agent, make_api_key, make_client, make_device

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("nov10")]
MONITORING = {"zxbsrq": "2026-11-02", "kpjzsj": "2026-11-16"}


@pytest.fixture
def firm(users):
    agent, token = make_agent("一号机柜")
    agent.online = True
    agent.save()
    mine = make_client(name="乙的客户有限公司", staff=users["owner"])
    device = make_device(client=mine, agent=agent, present=True, simulated=True, monitoring=MONITORING)
    return {"client": mine, "device": device, "agent": agent, "token": token}


def url(device):
    return reverse("devices:power_cycle", args=[device.pk])


@pytest.mark.parametrize("role", ["admin", "owner"])
def test_admin_and_the_clients_accountant_power_cycle_a_device(as_role, firm, role, users):
    page = as_role(role).get(reverse("devices:detail", args=[firm["device"].pk])).content.decode()
    assert url(firm["device"]) in page and "重新上电" in page
    response = as_role(role).post(url(firm["device"]), follow=True)
    job = Job.objects.get()
    assert job.kind == JobKind.POWER_CYCLE and job.period is None and job.device == firm["device"]
    assert job.state == JobState.QUEUED and job.requested_by == users[role]
    event = AuditEvent.objects.get(action="job.requested")
    assert (
        event.client == firm["client"]
        and (event.after or {}).get("kind") == "power_cycle"
        and "重新上电" in event.object_label
    )
    assert "已发起重新上电" in response.content.decode()


@pytest.mark.parametrize(("role", "status"), [("colleague", 404), ("readonly", 403)])
def test_a_colleague_and_an_outsider_may_not(as_role, firm, role, status):
    assert as_role(role).post(url(firm["device"])).status_code == status
    page = as_role("readonly").get(reverse("devices:detail", args=[firm["device"].pk])).content.decode()
    assert url(firm["device"]) not in page
    assert not Job.objects.exists() and not AuditEvent.objects.filter(action="job.requested").exists()


def test_anonymous_is_sent_to_login(client, firm):
    assert client.post(url(firm["device"])).url.startswith(reverse("login"))
    assert client.get(url(firm["device"])).status_code in (302, 405)
    assert not Job.objects.exists()


def test_the_rules_of_any_job_apply(as_role, firm):
    firm["device"].present = False
    firm["device"].save()
    response = as_role("owner").post(url(firm["device"]), follow=True)
    assert "未能重新上电：设备不在位" in response.content.decode() and not Job.objects.exists()
    firm["device"].present = True
    firm["device"].save()
    as_role("owner").post(url(firm["device"]))
    response = as_role("owner").post(url(firm["device"]), follow=True)
    assert "该设备已有同类任务在进行中" in response.content.decode() and Job.objects.count() == 1


def test_through_the_api_with_a_device_only(firm, users):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {make_api_key(users['owner'])}")
    missing = api.post("/api/v1/jobs/", {"kind": "power_cycle"}, format="json")
    assert missing.status_code == 400 and "device" in missing.json()
    made = api.post("/api/v1/jobs/", {"kind": "power_cycle", "device": firm["device"].pk}, format="json")
    assert made.status_code == 201, made.content
    assert Job.objects.get().kind == JobKind.POWER_CYCLE
    colleague = APIClient()
    colleague.credentials(HTTP_AUTHORIZATION=f"Token {make_api_key(users['colleague'])}")
    refused = colleague.post("/api/v1/jobs/", {"kind": "power_cycle", "device": firm["device"].pk}, format="json")
    assert refused.status_code in (400, 403, 404) and Job.objects.count() == 1


def test_the_agents_result_records_the_reading_and_touches_no_period(as_role, firm, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        as_role("owner").post(url(firm["device"]))
    job = Job.objects.get()
    agent = APIClient()
    agent.credentials(HTTP_AUTHORIZATION=f"Agent {firm['token']}")
    claimed = claim(agent, job.pk)
    assert claimed["status"] == 200 and claimed["kind"] == "power_cycle"
    after = {"zxbsrq": "2026-11-02", "kpjzsj": "2026-11-16", "simulated": True}
    body = {"attempt": 1, "outcome": "succeeded", "monitoring": after}
    assert report(agent, job.pk, body)["status"] == 200
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED
    assert AuditEvent.objects.filter(action="job.succeeded", object_id=str(job.pk)).exists()
    assert not firm["client"].periods.exists()
