"""发票查询 on real processes: an invoice issued on a simulated device after its 抄报 is not in what
the 抄报 uploaded; the look-up explains the miss, a query job reads the device through the broker
and the agent, and then the look-up finds the invoice with its client, device, period and upload.
The cabinet reports a slot holding NUL and the invoice's buyer holds NUL, as C strings passed on
from a vendor tool do (issue 27): the real agent's heartbeats and result are taken, cleaned, and
the agent stays online."""

import datetime as dt
from decimal import Decimal

import pytest
from qingka_agent.drivers.simulated import SimulatedDriver

from apps.accounts.models import User
from apps.core import clock
from apps.devices.models import Agent
from apps.invoices.lookup import Criteria, explain, found, search
from apps.invoices.sync import request_queries
from apps.jobs.requesting import request_jobs
from apps.periods.models import Period

from .conftest import device_spec, register_clients, wait_for_jobs

pytestmark = [pytest.mark.integration, pytest.mark.clock("2026-12-02T09:00:00+08:00")]


def test_an_invoice_issued_after_the_summary_is_found_once_the_device_is_read(stack):
    spec = device_spec(81, kind="ukey", slot="sim-81\u0000")
    [device] = register_clients([{**spec, "name": "发票客户"}])
    admin = User.objects.create_user("boss", password="pw-boss-1", role=User.Role.ADMIN)
    cabinet = stack.cabinet("cabinet-invoices", [spec])
    cabinet.start_agent(expect_devices=1)
    device.refresh_from_db()
    assert device.slot == "sim-81"  # the NUL dropped, the heartbeat taken

    november = Period.for_client(device.client, dt.date(2026, 11, 1))
    summary, skipped = request_jobs("upload_summary", [device], period=november)
    assert not skipped and [j.state for j in wait_for_jobs(summary)] == ["succeeded"], stack.logs()
    november.refresh_from_db()
    assert device.number in november.invoice_summary  # what November's 抄报 uploaded, without the invoice below

    # Issued in-process: a NUL cannot pass through the `sim` command's arguments.
    simulated = SimulatedDriver(cabinet.devices_file, cabinet.state_dir, clock=clock.now)
    issued = simulated.issue_invoice(device.number, Decimal("2400.00"), "026", buyer="某某商贸有限公司\u0000")
    asked = Criteria(code=issued["code"], number=issued["number"])
    assert not search(admin, asked).exists()
    reasons = explain(admin, asked, clock.now())
    assert [r.kind for r in reasons] == ["not_synced", "not_ours"]  # never read; its code never seen
    assert reasons[0].devices == [(device, "从未查询")]

    jobs, skipped = request_queries(admin, None, {"month": "2026-12"})
    [query] = wait_for_jobs(jobs)
    assert not skipped and (query.state, query.result["invoices"]) == ("succeeded", 1), stack.logs()

    [row] = found(search(admin, asked))
    assert (row.invoice.device, row.invoice.device.client, row.month) == (device, device.client, dt.date(2026, 12, 1))
    assert row.invoice.reported_by_id == query.pk and row.invoice.uploaded
    assert (row.invoice.amount, row.invoice.tax, row.invoice.kind) == (Decimal("2400.00"), Decimal("312.00"), "026")
    assert row.invoice.buyer == "某某商贸有限公司"
    assert Agent.objects.get(pk=cabinet.agent.pk).online
    assert "将随 2026-12 的抄报汇总" in row.upload
    # A typo in the last digit: the same device, read just now, has one invoice a digit away.
    typo = issued["number"][:-1] + str((int(issued["number"][-1]) + 1) % 10)
    reasons = explain(admin, Criteria(code=issued["code"], number=typo), clock.now())
    assert [r.kind for r in reasons] == ["near"] and [i.number for i in reasons[0].invoices] == [issued["number"]]
