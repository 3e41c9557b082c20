"""Device data is untrusted: one schema reads it on arrival (heartbeat and result alike), keeps
what it cannot read raw and flagged, and no page, API call or share page fails on what is stored."""

import datetime as dt

import pytest
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.devices.models import Device
from apps.devices.monitoring import FIELDS, normalise
from apps.jobs import messaging, requesting
from apps.jobs.models import JobState
from tests.agent_calls import claim, report
from tests.factories import agent_with_device

GOOD = {
    "kpjzsj": "2026-12-15",
    "zxbsrq": "2026-11-03",
    "clock": "2026-11-05T10:00:00+08:00",
    "dzkpxe": "99999.99",
    "lxkpsc": 72,
    "cert_tries_left": 8,
    "taxpayer_nature": "01",
    "invoice_types": {"004": {"state": 3, "kpjzsj": "2026-12-15"}},
}
BAD = {
    "kpjzsj": "2026-13-45",
    "zxbsrq": 20261103,
    "clock": "yesterday",
    "dzkpxe": "一万",
    "lxkpsc": -5,
    "cert_tries_left": "lots",
    "invoice_types": ["004"],
}
junk = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


def test_readable_values_are_kept_in_their_one_form():
    assert normalise(GOOD) == {**GOOD, "dzkpxe": "99999.99"}
    assert normalise({"taxpayer_nature": 1, "unknown": "x"}) == {"taxpayer_nature": "01"}


def test_unreadable_values_are_left_out_and_kept_raw():
    clean = normalise({**GOOD, **BAD})
    assert set(clean) - {"unreadable"} == set(GOOD) - set(BAD)
    assert clean["unreadable"] == {
        "kpjzsj": "2026-13-45",
        "zxbsrq": "20261103",
        "clock": "yesterday",
        "dzkpxe": "一万",
        "lxkpsc": "-5",
        "cert_tries_left": "lots",
        "invoice_types": '["004"]',
    }
    assert normalise(["not", "a", "dict"]) == {"unreadable": {"monitoring": '["not", "a", "dict"]'}}


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(sorted(FIELDS)), junk, max_size=8) | junk)
def test_the_schema_never_raises(reported):
    clean = normalise(reported)
    assert clean is None or isinstance(clean, dict)


@pytest.fixture
def bad_device(db):
    return agent_with_device()


def test_a_heartbeat_and_a_result_with_unreadable_values_are_taken_and_flagged(nov10, bad_device, monkeypatch):
    api, device = bad_device["api"], bad_device["device"]
    row = {"slot": "s1", "kind": "tax_disk", "driver": "simulated", "device_number": device.number, "monitoring": BAD}
    assert (
        api.post(
            "/api/v1/agent/heartbeat/", {"version": "1", "hostname": "h", "devices": [row], "jobs": []}, format="json"
        ).status_code
        == 200
    )
    device.refresh_from_db()
    assert device.unreadable_monitoring["kpjzsj"] == "2026-13-45" and device.cycle_state() is None
    monkeypatch.setattr(messaging, "_publish", lambda producer, queue, args: None)
    (job,), _ = requesting.request_jobs(
        "upload_and_clear", [Device.objects.select_related("agent").get(pk=device.pk)], period=bad_device["period"]
    )
    claim(api, job.pk)
    answer = report(api, job.pk, {"attempt": 1, "outcome": "succeeded", "monitoring": {**GOOD, "clock": 7}})
    assert answer["status"] == 200 and answer["state"] == JobState.SUCCEEDED
    device.refresh_from_db()
    assert device.monitoring["kpjzsj"] == "2026-12-15" and device.unreadable_monitoring == {"clock": "7"}


@pytest.mark.parametrize("stored", [BAD, ["x"], "garbage", {"invoice_types": {"004": "x"}, "lxzssyje": {"a": 1}}])
def test_no_page_fails_on_a_stored_value(bad_device, as_role, api, stored):
    Device.objects.filter(pk=bad_device["device"].pk).update(monitoring=stored)  # as an earlier version kept it
    web = as_role("admin")
    client = bad_device["client"]
    for url in (
        "/",
        f"/clients/{client.pk}/",
        "/jobs/",
        "/?status=locked",
        "/bulk/new/?month=2026-10&kind=clear&when=now",
    ):
        assert web.get(url).status_code == 200, url
    assert api.get(f"/api/v1/devices/{bad_device['device'].pk}/").status_code == 200
    from apps.sharing.models import ShareLink

    link = ShareLink.objects.create(client=client, expires_at=timezone.now() + dt.timedelta(days=7))
    assert web.get(f"/s/{link.token}/").status_code == 200
