"""Month-end on autopilot, on real processes (site, rq worker and sweeper, Redis, qingka-agent
with a simulated cabinet) at a set clock of 00:04 on the 1st: nothing before 00:05; then 抄报
for every due device with no person acting, the clears once the returns are recorded, the
wrong-password device failing once and held, refused on every way in, one webhook message
naming it, and a digest listing exactly each 会计's unfinished clients."""

import datetime as dt
import time

import pytest
from django.test import Client as WebClient
from django.urls import reverse

from apps.accounts.models import User
from apps.autopilot.models import Autopilot
from apps.core import clock
from apps.holds.models import Hold
from apps.jobs.models import Job, JobKind, JobState, Origin
from apps.notifications import events
from apps.notifications.models import Channel, Event, Notification
from apps.periods.models import Period
from apps.periods.rules import SHANGHAI
from apps.periods.services import record_return_filed
from apps.scheduling.selection import candidates
from tests.factories import make_api_key
from tests.notifications.conftest import webhook  # noqa: F401

from .conftest import device_spec, register_clients, wait_for_jobs
from .processes import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.clock("2026-12-01T00:04:50+08:00")]
NOV = dt.date(2026, 11, 1)
WINDOW = dt.datetime(2026, 12, 1, 0, 5, tzinfo=SHANGHAI)


def test_the_month_runs_itself(webhook, stack):  # noqa: F811 (the webhook first: the stack's workers take its host)
    owner = User.objects.create_user("li", password="pw-li-1", role=User.Role.ACCOUNTANT, display_name="李会计")
    colleague = User.objects.create_user("zhang", password="pw-zhang-1", role=User.Role.ACCOUNTANT)
    specs = {
        "甲": device_spec(71),
        "乙": device_spec(72, kind="ukey"),
        "丙": device_spec(73, nature="08"),  # small-scale: November needs no return
        "丁": device_spec(74),  # the site's certificate password is wrong
    }
    devices = register_clients(
        [
            {
                **spec,
                "name": f"自动客户{key}",
                "taxpayer_kind": "small_scale" if key == "丙" else "general",
                "site_certificate_password": "00000000" if key == "丁" else "",
            }
            for key, spec in specs.items()
        ]
    )
    clients = {key: device.client for key, device in zip(specs, devices, strict=True)}
    for key, client in clients.items():
        client.staff = colleague if key == "乙" else owner
        client.save()
    Channel.objects.create(name="事务所 webhook", url=webhook.url)
    Autopilot.objects.update_or_create(pk=1, defaults={"enabled": True, "per_agent_per_minute": 600})
    cabinet = stack.cabinet("cabinet-auto", list(specs.values()), deadlines={"2026-12": "2026-12-15"})
    cabinet.start_agent(expect_devices=4)

    assert clock.now() < WINDOW and not Job.objects.exists()  # sweeps have run, nothing is due yet
    wait_until(lambda: clock.now() >= WINDOW + dt.timedelta(seconds=3), timeout=30, what="00:05")
    jobs = wait_until(
        lambda: Job.objects.count() == 4 and list(Job.objects.order_by("device__client__name")),
        timeout=60,
        what="a job for every device",
    )
    assert all(job.origin == Origin.AUTOPILOT and job.requested_by is None for job in jobs)
    assert all(job.created_at >= WINDOW for job in jobs)
    assert {job.device.client.name: job.kind for job in jobs} == {
        "自动客户甲": JobKind.UPLOAD_SUMMARY,
        "自动客户乙": JobKind.UPLOAD_SUMMARY,
        "自动客户丙": JobKind.UPLOAD_AND_CLEAR,  # no return this month: summary and clear at once
        "自动客户丁": JobKind.UPLOAD_SUMMARY,
    }
    first = {job.device.client.name: job for job in wait_for_jobs(jobs)}
    wrong = first["自动客户丁"]
    assert (wrong.state, wrong.error_code, wrong.attempts) == (JobState.FAILED, "CERT_PASSWORD_WRONG", 1)
    assert Hold.objects.get().device.client == clients["丁"]
    assert Period.objects.get(client=clients["丙"], month=NOV).status() == "done"

    for key in ("甲", "乙"):  # the returns are recorded: the clears follow with no one asking
        record_return_filed(Period.objects.get(client=clients[key], month=NOV), clock.today(), user=owner)
    wait_until(
        lambda: all(Period.objects.get(client=clients[k], month=NOV).cleared_at for k in ("甲", "乙")),
        timeout=60,
        what="the clears after the returns",
    )

    # every way in refuses the held device, saying why
    page = WebClient()
    page.force_login(owner)
    refused = page.post(reverse("clients:clear", args=[clients["丁"].pk]), follow=True).content.decode()
    assert "口令错误" in refused
    api = WebClient(HTTP_AUTHORIZATION=f"Token {make_api_key(owner)}")
    asked = api.post(
        "/api/v1/jobs/", {"kind": "read_status", "device": wrong.device_id}, content_type="application/json"
    )
    assert "暂停" in asked.json()["skipped"][0]["reason"]
    retried = api.post(f"/api/v1/jobs/{wrong.pk}/retry/")
    assert retried.status_code == 409 and "口令" in retried.json()["detail"]
    batch = {c.client.name: c.reason for c in candidates(JobKind.UPLOAD_SUMMARY, NOV, {}, clock.now())}
    assert "暂停" in batch["自动客户丁"]
    time.sleep(3)  # a few more passes of the cycle
    assert Job.objects.filter(device=wrong.device).count() == 1

    # one webhook message, naming the held client
    assert len(webhook.received) == 1 and "自动客户丁" in webhook.received[0]["message"] + webhook.received[0]["title"]

    # the 09:00 digest: exactly each 会计's unfinished clients
    events.daily_digests(dt.datetime(2026, 12, 1, 9, 0, tzinfo=SHANGHAI))
    mine = Notification.objects.get(event=Event.DAILY_DIGEST, recipients=owner).body
    theirs = Notification.objects.get(event=Event.DAILY_DIGEST, recipients=colleague).body
    assert "自动客户丁" in mine and not any(f"自动客户{k}" in mine for k in ("甲", "乙", "丙"))
    assert "均已完成" in theirs
