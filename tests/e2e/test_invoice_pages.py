"""A device with 12,000 invoices in one month answers a 发票查询 (issue 27) through the real agent,
broker, site and workers: the agent sends its answer in pages the site accepts, and the site holds
every invoice. Before pages the result was refused, parked by the agent after 8 tries, and the job
ended as LEASE_EXPIRED."""

import pytest

from apps.devices.models import Device
from apps.invoices.models import Invoice
from apps.jobs.requesting import request_jobs

from .conftest import device_spec, register_clients, wait_for_jobs

pytestmark = [pytest.mark.integration, pytest.mark.faults, pytest.mark.clock("2026-12-02T09:00:00+08:00")]


def test_a_device_with_twelve_thousand_invoices_in_a_month_answers_in_pages(stack):
    spec = device_spec(83, invoices_per_month=12_000)
    register_clients([{**spec, "name": "开票大户"}])
    cabinet = stack.cabinet("cabinet-pages", [spec])
    cabinet.start_agent(expect_devices=1)
    device = Device.objects.select_related("agent").get(number=spec["device_number"])

    jobs, skipped = request_jobs("query_invoices", [device], query={"month": "2026-11"})
    [job] = wait_for_jobs(jobs, timeout=90)
    assert not skipped and (job.state, job.error_code) == ("succeeded", ""), stack.logs()
    assert (job.attempts, job.result["invoices"], job.result["invoices_rejected"], job.result["pages"]) == (
        1,
        12_000,
        0,
        3,
    )
    held = Invoice.objects.filter(device=device, reported_by=job)
    assert held.count() == 12_000
    assert {i.month for i in held.datetimes("issued_at", "month")} == {11}
    assert "its result in 3 pages" in cabinet.process.log()
