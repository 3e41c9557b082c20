"""A device holding offline invoices on autopilot (issue 28), through the real agent, broker, site and
workers: its heartbeat reports them, the autopilot makes 上传离线发票 first, the simulated device uploads
them, and the 抄报并清卡 follows at a later pass and succeeds. Before, the 抄报 went first and failed
with UPLOAD_OVERDUE."""

import pytest

from apps.autopilot.models import Autopilot
from apps.devices.models import Device
from apps.jobs.models import Job, JobKind, JobState

from .conftest import device_spec, register_clients
from .processes import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.clock("2026-12-03T12:00:00+08:00")]


def test_the_autopilot_uploads_offline_invoices_before_the_summary(stack):
    spec = device_spec(84, nature="08", offline_invoices_pending=True)  # small-scale: no return in November
    register_clients([{**spec, "name": "离线开票客户", "taxpayer_kind": "small_scale"}])
    cabinet = stack.cabinet("cabinet-offline", [spec])
    cabinet.start_agent(expect_devices=1)
    device = Device.objects.get(number=spec["device_number"])
    wait_until(
        lambda: (Device.objects.get(pk=device.pk).monitoring or {}).get("offline_pending") == 1,
        timeout=30,
        what="the heartbeat's reading of the offline invoice",
    )
    Autopilot.objects.update_or_create(
        pk=1, defaults={"enabled": True, "avoid_busy_hours": False, "per_agent_per_minute": 600}
    )

    def two_finished():
        jobs = list(Job.objects.filter(device=device).order_by("pk"))
        return len(jobs) == 2 and all(job.state in (JobState.SUCCEEDED, JobState.FAILED) for job in jobs) and jobs

    upload, summary = wait_until(two_finished, timeout=120, what="the upload and the summary after it")
    assert [(upload.kind, upload.state), (summary.kind, summary.state)] == [
        (JobKind.UPLOAD_OFFLINE, JobState.SUCCEEDED),
        (JobKind.UPLOAD_AND_CLEAR, JobState.SUCCEEDED),
    ], stack.logs()
    assert summary.created_at >= upload.finished_at and not summary.already_done
    device.refresh_from_db()
    assert device.monitoring["offline_pending"] == 0 and device.monitoring["kpjzsj"] > "2026-12-31"
    assert cabinet.simulated_devices()[spec["device_number"]]["monitoring"]["offline_pending"] == 0  # the device too
