"""A 数电 month has a count of its own, 无需清卡 (no_clear), beside 已完成, and the months API, the
periods API, the dashboard and the month-end report agree on every count with 数电 clients among
税控 ones (issue 28), in the deadline week and after the deadline, for every month of a year."""

import datetime as dt
from collections import Counter

import pytest
import time_machine
from django.urls import reverse

from apps.clients.models import InvoicingMode
from apps.clients.modes import set_invoicing_mode
from apps.core.months import add_months, format_month
from apps.filing_calendar.models import period_deadline
from apps.periods.rules import SHANGHAI, PeriodStatus
from tests.factories import make_client, make_device, make_period

pytestmark = pytest.mark.django_db
MONTHS_2026 = [dt.date(2026, m, 1) for m in range(1, 13)]


def at(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), SHANGHAI)


@pytest.mark.parametrize("month", MONTHS_2026, ids=lambda m: f"{m:%Y-%m}")
def test_digital_months_are_counted_alike_everywhere(month, as_role):
    deadline = period_deadline(month).date
    filed, unfiled, device_client = make_client(), make_client(), make_client()
    for digital in (filed, unfiled):
        make_device(digital, lock_date=deadline)  # retired by the switch: no lock, no 设备不在位
        set_invoicing_mode(digital, InvoicingMode.DIGITAL, add_months(month, -2))
    make_period(filed, month=month, deadline=deadline, return_filed_on=add_months(month, 1))
    make_device(device_client, lock_date=deadline)
    for day in (deadline - dt.timedelta(days=1), deadline + dt.timedelta(days=1)):
        with time_machine.travel(at(day), tick=False):
            client = as_role("admin")
            counts = client.get(f"/api/v1/months/{format_month(month)}/").json()["counts"]
            rows = client.get("/api/v1/periods/", {"month": format_month(month)}).json()["results"]
            listed = dict.fromkeys(PeriodStatus.values, 0) | Counter(row["status"] for row in rows)
            dashboard = client.get(reverse("dashboard"), {"month": format_month(month)}).context["bars"]
            report = client.get("/api/v1/reports/month-end/", {"month": format_month(month)}).json()["statuses"]
        assert {k: v for k, v in counts.items() if k != "late"} == listed, day
        assert {bar["key"]: bar["count"] for bar in dashboard if bar["key"] in listed} == listed, day
        assert report == {code: n for code, n in listed.items() if n}, day
        assert counts[PeriodStatus.NO_CLEAR_NEEDED] == 1, day
        unfiled_status = PeriodStatus.RETURN_DUE if day <= deadline else PeriodStatus.RETURN_OVERDUE
        assert counts[unfiled_status] >= 1 and counts[PeriodStatus.LOCKED] == (day > deadline), day
        missing = next(bar for bar in dashboard if bar["key"] == "missing")
        assert missing["count"] == 1, day  # the 税控 client's device only
