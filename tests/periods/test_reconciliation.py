"""票表比对: the declared return against what the devices' 抄报 uploaded, held before the clear on
every way in (one rule), released by a person's confirmation or a corrected return."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.accounts.models import FirmSettings
from apps.audit.models import Action, AuditEvent
from apps.jobs.models import Job, JobKind
from apps.jobs.rules import refusal_reason
from apps.periods.rules import reconciliation
from apps.periods.services import record_return_filed
from apps.scheduling.selection import candidates
from tests.factories import make_agent, make_client, make_device, make_period

OCT = dt.date(2026, 10, 1)
SUMMARY = {
    "004": {"count": 2, "amount": "1000.00", "tax": "130.00"},
    "007": {"count": 1, "amount": "500.00", "tax": "65.00"},
}


def test_the_gaps_are_declared_minus_invoiced_over_every_device_and_type():
    found = reconciliation({"A": SUMMARY, "B": SUMMARY}, Decimal("3000.00"), Decimal("395.00"), Decimal("10"))
    assert (found.invoiced_sales, found.invoiced_tax) == (Decimal("3000.00"), Decimal("390.00"))
    assert (found.sales_gap, found.tax_gap, found.mismatch) == (Decimal("0"), Decimal("5.00"), False)
    assert reconciliation({"A": SUMMARY}, Decimal("1520.01"), None, Decimal("20")).mismatch
    assert not reconciliation({"A": SUMMARY}, None, None, Decimal("0")).mismatch  # nothing declared
    assert reconciliation(None, None, None, Decimal("0")) is None  # nothing on either side yet
    # figures declared and no 抄报 summary stored: nothing to compare with, which holds the clear
    missing = reconciliation(None, Decimal("1"), Decimal("1"), Decimal("0"))
    assert missing.summary_missing and missing.holds_clear and not missing.mismatch
    assert not reconciliation(None, Decimal("1"), None, Decimal("0"), confirmed=True).holds_clear


@pytest.fixture
def period(db, users, nov10):
    agent, _ = make_agent()
    agent.online = True
    agent.save()
    client = make_client(staff=users["owner"])
    make_device(client, agent=agent, present=True)
    return make_period(
        client,
        OCT,
        summary_uploaded_at=timezone.now() - dt.timedelta(days=7),  # 抄报 on the 3rd, then the return
        return_filed_on=dt.date(2026, 11, 5),
        declared_sales=Decimal("2500.00"),  # 1,000 more than invoiced
        declared_tax=Decimal("195.00"),
        invoice_summary={"539912237528": SUMMARY},
    )


def refused(period):
    device = period.client.devices.get()
    return refusal_reason(JobKind.CLEAR, device, period, timezone.now(), hold_reason=None, has_active_job=False)


def test_a_mismatch_holds_the_clear_on_the_page_the_api_and_a_batch(period, as_role, api):
    assert "票表比对不一致" in refused(period) and "+1000.00" in refused(period)
    page = as_role("owner")
    page.post(f"/clients/{period.client.pk}/clear/")
    assert not Job.objects.exists()
    assert "已核对，仍然清卡" in page.get(f"/clients/{period.client.pk}/").content.decode()
    device = period.client.devices.get()
    answer = api.post("/api/v1/jobs/", {"kind": "clear", "device": device.pk, "period": period.pk}, format="json")
    assert answer.status_code in (400, 409) and "票表比对不一致" in str(answer.json())
    (candidate,) = candidates(JobKind.CLEAR, OCT, {}, timezone.now())
    assert "票表比对不一致" in candidate.reason


def test_within_the_tolerance_the_clear_goes(period):
    FirmSettings.objects.update_or_create(pk=1, defaults={"reconciliation_tolerance": Decimal("1000.00")})
    assert refused(period) is None


def test_a_confirmation_releases_it_audited_and_a_corrected_return_is_compared_afresh(period, as_role, users):
    page = as_role("owner")
    response = page.post(f"/clients/{period.client.pk}/reconciliation/confirm/", {"month": "2026-10"})
    assert response.status_code == 302
    period.refresh_from_db()
    assert period.reconciliation_confirmed_by == users["owner"] and refused(period) is None
    assert AuditEvent.objects.filter(action=Action.PERIOD_RECONCILIATION_CONFIRMED, object_id=str(period.pk)).exists()
    record_return_filed(period, dt.date(2026, 11, 5), Decimal("2600.00"), Decimal("195.00"), user=users["owner"])
    assert period.reconciliation_confirmed_at is None and "票表比对不一致" in refused(period)
    record_return_filed(period, dt.date(2026, 11, 5), Decimal("1500.00"), Decimal("195.00"), user=users["owner"])
    assert refused(period) is None  # corrected to what was invoiced


def test_an_outsider_cannot_confirm(period, as_role):
    response = as_role("colleague").post(f"/clients/{period.client.pk}/reconciliation/confirm/", {"month": "2026-10"})
    assert response.status_code == 404
    period.refresh_from_db()
    assert period.reconciliation_confirmed_at is None
