"""A password failure or a lock holds the device: no new job reaches it from any way in (client
page, API, batch, retry, the autopilot) until a person releases it, and the release is audited
without the password."""

import datetime as dt

import pytest
from django.urls import reverse

from apps.accounts.models import FirmSettings, UnlockPolicy
from apps.audit.models import AuditEvent
from apps.autopilot.cycle import run_pass
from apps.autopilot.models import Autopilot
from apps.core import clock
from apps.devices.models import Device
from apps.holds.models import Hold, HoldReason, Release
from apps.holds.services import hold_locked_devices
from apps.jobs import requesting
from apps.jobs.models import Job, JobKind, JobState
from apps.notifications import events
from apps.notifications.models import Notification
from apps.scheduling.selection import candidates
from tests.agent_calls import claim
from tests.factories import make_device
from tests.pipeline.test_pipeline import ask, result, sent, setup  # noqa: F401

pytestmark = pytest.mark.usefixtures("nov10")


def failed_on_password(setup):  # noqa: F811
    job = ask(setup)
    claim(setup["api"], job.pk)
    answer = result(
        setup,
        job,
        outcome="failed",
        error_code="CERT_PASSWORD_WRONG",
        raw_code="0x0963c6",
        message="证书口令错误，剩余 6 次",
        monitoring={"cert_tries_left": 6, "kpjzsj": "2026-11-16"},
    )
    assert answer["status"] == 200
    return Job.objects.get(pk=job.pk)


def test_a_password_failure_holds_the_device_once_and_tells_people(setup, sent):  # noqa: F811
    job = failed_on_password(setup)
    hold = Hold.objects.get()
    assert (job.state, job.attempts) == (JobState.FAILED, 1)
    assert (hold.device, hold.reason, hold.error_code, hold.job) == (setup["device"], "password", job.error_code, job)
    assert AuditEvent.objects.filter(action="device.held").count() == 1
    assert not Notification.objects.exists()  # people are told by the sweep, from the hold
    assert (events.held_devices(), events.held_devices()) == (1, 0)
    assert Notification.objects.get(key=f"held:{hold.pk}").event == "device_held"


def test_every_way_in_is_refused_while_held(setup, sent, as_role, users, api):  # noqa: F811
    job = failed_on_password(setup)
    device, period = setup["device"], setup["period"]
    device.client.staff = users["owner"]
    device.client.save()
    before = Job.objects.count()

    page = as_role("owner").post(reverse("clients:clear", args=[device.client.pk]), follow=True)
    assert "口令错误" in page.content.decode()
    answer = api.post("/api/v1/jobs/", {"kind": "read_status", "device": device.pk}, format="json").json()
    assert "暂停" in answer["skipped"][0]["reason"]
    (candidate,) = candidates(JobKind.CLEAR, period.month, {}, clock.now())
    assert "暂停" in candidate.reason
    refused = api.post(f"/api/v1/jobs/{job.pk}/retry/")
    assert refused.status_code == 409 and "口令错误的任务不能重试" in refused.json()["detail"]
    Autopilot.objects.update(enabled=True)
    assert sum(run_pass(clock.now(), Autopilot.current()).values()) == 0
    assert Job.objects.count() == before


def test_release_needs_the_corrected_password_and_is_audited_without_it(setup, sent, as_role, users):  # noqa: F811
    failed_on_password(setup)
    hold = Hold.objects.get()
    setup["device"].client.staff = users["owner"]
    setup["device"].client.save()
    url = reverse("holds:release", args=[hold.pk])
    assert as_role("colleague").get(url).status_code == 404
    assert as_role("readonly").get(url).status_code == 403

    owner = as_role("owner")
    empty = owner.post(url, {"release": Release.PASSWORD_CORRECTED})
    assert "请填写更正后的证书口令或设备口令" in empty.content.decode()
    assert Hold.objects.get().active
    owner.post(
        url, {"release": Release.PASSWORD_CORRECTED, "certificate_password": "87654321", "note": "客户告知新口令"}
    )
    hold.refresh_from_db()
    assert not hold.active and hold.release == Release.PASSWORD_CORRECTED and hold.released_by == users["owner"]
    assert Device.objects.get(pk=setup["device"].pk).certificate_password == "87654321"
    event = AuditEvent.objects.get(action="device.hold_released")
    assert "87654321" not in str(event.before) + str(event.after)
    assert event.after["passwords_changed"] == ["certificate_password"]
    assert requesting.request_jobs(JobKind.READ_STATUS, [setup["device"]])[0]  # takes jobs again


def test_a_locked_device_is_held_once_per_lock_and_released_as_handled(setup, sent):  # noqa: F811
    # where the firm goes to the hall (须到大厅); online first, tests/autopilot/test_remote_unlock.py
    FirmSettings.objects.update_or_create(pk=1, defaults={"unlock_policy": UnlockPolicy.HALL})
    today = clock.today()
    locked = make_device(setup["device"].client, sub_number=1, lock_date=today - dt.timedelta(days=1))
    assert hold_locked_devices(today) == 1 and hold_locked_devices(today) == 0
    hold = Hold.objects.get(device=locked)
    assert hold.reason == HoldReason.LOCKED and hold.lock_date == locked.lock_date
    from apps.holds.services import release

    with pytest.raises(Exception, match="已处理"):
        release(hold, Release.PASSWORD_CORRECTED, user=None, certificate_password="12345678")
    release(hold, Release.HANDLED, user=None, note="已到税务机关解锁")
    assert hold_locked_devices(today) == 0  # the same lock is not held again after a person handled it
    Device.objects.filter(pk=locked.pk).update(lock_date=today - dt.timedelta(days=2))
    assert hold_locked_devices(today) == 1  # a new lock date is a new lock
