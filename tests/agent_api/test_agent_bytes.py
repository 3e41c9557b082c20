"""One bad byte never stops a cabinet (issue 27, High): NUL and lone surrogates in any field of an
agent call are cleaned field by field before anything stores them; the call succeeds."""

import json

import pytest

from apps.agent_api.clean import clean
from apps.devices.models import Device
from apps.invoices.services import read_invoice
from apps.jobs import messaging, requesting
from apps.jobs.models import JobState
from tests.factories import agent_with_device

pytestmark = [pytest.mark.security, pytest.mark.django_db]


@pytest.fixture
def cabinet(db):
    return agent_with_device()


def post(api, url, body):
    """JSON as the agent's json.dumps writes it: a lone surrogate travels as the escape \\ud800."""
    return api.post(url, data=json.dumps(body), content_type="application/json")


def test_a_heartbeat_with_a_nul_in_one_reading_succeeds_and_stores_it_cleaned(nov10, cabinet):
    api, device, agent = cabinet["api"], cabinet["device"], cabinet["agent"]
    row = {
        "slot": "s1\x00",
        "kind": "tax_disk",
        "driver": "simulated",
        "device_number": device.number,
        "monitoring": {"kpjzsj": "2026-12-15\x00", "zxbsrq": "2026-11-03", "taxpayer_nature": "0\ud8001"},
    }
    answer = post(
        api, "/api/v1/agent/heartbeat/", {"version": "1\x00", "hostname": "pc\ud800", "devices": [row], "jobs": []}
    )
    assert answer.status_code == 200, answer.content
    device.refresh_from_db()
    agent.refresh_from_db()
    assert device.monitoring["kpjzsj"] == "2026-12-15" and agent.online
    assert "\x00" not in json.dumps(device.monitoring) and agent.hostname == "pc\ufffd"
    assert device.slot == "s1"


def test_a_result_with_a_nul_and_a_lone_surrogate_succeeds(nov10, cabinet, monkeypatch):
    api, device = cabinet["api"], cabinet["device"]
    monkeypatch.setattr(messaging, "_publish", lambda producer, queue, args: None)
    reading = {"kpjzsj": "2026-12-15", "zxbsrq": "2026-10-03"}
    row = {"slot": "s1", "kind": "tax_disk", "driver": "simulated", "device_number": device.number}
    heartbeat = {"version": "1", "hostname": "h", "devices": [{**row, "monitoring": reading}], "jobs": []}
    assert post(api, "/api/v1/agent/heartbeat/", heartbeat).status_code == 200
    (job,), _ = requesting.request_jobs(
        "upload_and_clear", [Device.objects.select_related("agent").get(pk=device.pk)], period=cabinet["period"]
    )
    assert post(api, "/api/v1/agent/jobs/claim/", {"jobs": [{"id": job.pk, "attempt": 1}]}).json()["jobs"]
    result = {
        "job": job.pk,
        "attempt": 1,
        "outcome": "succeeded",
        "message": "done\x00\ud800",
        "monitoring": {"kpjzsj": "2026-12-15\x00", "zxbsrq": "2026-11-03\ud800"},
    }
    answer = post(api, "/api/v1/agent/jobs/results/", {"results": [result]})
    assert answer.status_code == 200, answer.content
    assert answer.json()["results"] == [{"job": job.pk, "status": 200, "state": JobState.SUCCEEDED}]
    device.refresh_from_db()
    assert device.monitoring["kpjzsj"] == "2026-12-15"
    assert device.unreadable_monitoring == {"zxbsrq": "2026-11-03\ufffd"}  # kept aside, not the call's end


def test_invoices_with_a_nul_or_a_surrogate_buyer_are_read_cleaned():
    invoice = {
        "type": "004",
        "code": "1100211130",
        "number": "12345678",
        "issued_at": "2026-11-03T10:00:00+08:00",
        "amount": "100.00",
        "tax": "13.00",
        "uploaded": True,
    }
    where: list = []
    entries = clean([{**invoice, "buyer": "甲公司\x00"}, {**invoice, "number": "12345679", "buyer": "\ud800乙"}], where)
    assert where == ["/0/buyer", "/1/buyer"]
    assert [read_invoice(e)["buyer"] for e in entries] == ["甲公司", "\ufffd乙"]
