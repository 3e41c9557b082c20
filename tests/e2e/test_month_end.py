"""Twenty simulated devices through two month-ends: 抄报 then 清卡 for each, through the real
site, rq sweeper, Redis, Celery and agent process."""

import datetime as dt

import pytest

from apps.audit.models import AuditEvent
from apps.core import clock
from apps.devices.models import Device
from apps.jobs.requesting import request_jobs
from apps.periods.models import Period

from .conftest import device_spec, register_clients, wait_for_jobs

pytestmark = [pytest.mark.integration]

# The whole stack runs on one clock, moved from one month-end to the next.
MONTHS = [(dt.date(2026, 11, 1), "2026-12-03T09:00:00+08:00"), (dt.date(2026, 12, 1), "2027-01-05T09:00:00+08:00")]


def test_twenty_devices_two_months(stack):
    specs = [
        device_spec(n, kind=("tax_disk", "ukey", "golden_tax_disk")[n % 3], nature="01" if n % 4 else "08")
        for n in range(1, 21)
    ]
    devices = register_clients(
        [
            {
                **spec,
                "name": f"月结客户{n:02d}",
                "taxpayer_kind": "general" if spec["taxpayer_nature"] == "01" else "small_scale",
            }
            for n, spec in enumerate(specs, start=1)
        ]
    )
    stack.set_clock(MONTHS[0][1])
    cabinet = stack.cabinet("cabinet-a", specs)
    cabinet.start_agent(expect_devices=20)
    devices = list(
        Device.objects.filter(pk__in=[d.pk for d in devices]).select_related("agent", "client").order_by("pk")
    )
    assert all(d.simulated and d.agent == cabinet.agent for d in devices)

    for month, moment in MONTHS:
        if moment != MONTHS[0][1]:
            stack.set_clock(moment)
            cabinet.wait_online(expect_devices=20)
        periods = []
        for device in devices:
            period = Period.for_client(device.client, month)
            if period.return_required:
                period.return_filed_on = clock.today()
                period.save()
            periods.append(period)
        for kind in ("upload_summary", "clear"):
            jobs = []
            for period in periods:
                period.refresh_from_db()  # the summaries done just now
            for device, period in zip(devices, periods, strict=True):
                created, skipped = request_jobs(kind, [device], period=period)
                assert not skipped, skipped
                jobs += created
            finished = wait_for_jobs(jobs)
            assert [(j.state, j.error_code) for j in finished] == [("succeeded", "")] * 20, stack.logs()
        for period in periods:
            period.refresh_from_db()
            assert period.status() == "done", (period, period.status())

    counts = cabinet.simulated_devices()
    assert {(row["monitoring"]["summary_count"], row["monitoring"]["clear_count"]) for row in counts.values()} == {
        (2, 2)
    }

    # The audit log tells each client's story, in order, marked as simulated.
    story = list(AuditEvent.objects.filter(client=devices[0].client).order_by("id").values_list("action", flat=True))
    one_month = [
        "job.requested",
        "job.started",
        "job.succeeded",
        "period.summary_uploaded",
        "job.requested",
        "job.started",
        "job.succeeded",
        "period.cleared",
    ]
    device_events = [a for a in story if a.startswith(("job.", "period."))]
    assert device_events == one_month * 2
    assert AuditEvent.objects.filter(action="job.succeeded", simulated=True).count() == 80
