"""What a new user found broken on the days that matter, each checked on every month of a year
rather than on one day: the device page of a device never read, 需要处理 in the deadline week and
after it, the client list's status once the working period has moved on, the months API and the
periods API for a month not yet open, and 票表比对 with no 抄报 summary to compare."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from apps.attention.rows import Kind, rows_for
from apps.autopilot.models import Autopilot
from apps.core.months import add_months, format_month
from apps.filing_calendar.models import period_deadline
from apps.jobs.models import JobKind
from apps.jobs.rules import period_reason
from apps.periods.models import Period
from apps.periods.rules import SHANGHAI, PeriodStatus
from apps.periods.services import confirm_reconciliation
from tests.factories import make_agent, make_client, make_device, make_period

pytestmark = pytest.mark.django_db
MONTHS_2026 = [dt.date(2026, m, 1) for m in range(1, 13)]


def at(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), SHANGHAI)


def test_the_page_of_a_device_never_read(as_role):
    device = make_device(make_client(), monitoring=None)
    response = as_role("admin").get(reverse("devices:detail", args=[device.pk]))
    assert response.status_code == 200
    assert device.number in response.content.decode()


@pytest.mark.parametrize("month", MONTHS_2026, ids=lambda m: f"{m:%Y-%m}")
def test_a_return_not_recorded_is_listed_before_and_after_its_deadline(month, users, client):
    """From N days before the deadline (the firm's reminder) it is 临近截止; from the day after,
    逾期未申报, still once the next period's window has opened; the pages show both."""
    agent, _ = make_agent()
    owner = users["owner"]
    customer = make_client(staff=owner)
    make_device(customer, agent=agent, present=True, lock_date=period_deadline(month).date + dt.timedelta(days=30))
    deadline = period_deadline(month).date
    make_period(customer, month=month, deadline=deadline, summary_uploaded_at=at(month + dt.timedelta(days=35)))
    reminder = Autopilot.current().reminder_days
    days = [deadline - dt.timedelta(days=n) for n in range(reminder, -1, -1)] + [
        deadline + dt.timedelta(days=1),
        add_months(month, 2) + dt.timedelta(days=2),  # the next period's window is open
    ]
    for day in days:
        with time_machine.travel(at(day), tick=False):
            client.force_login(owner)  # a session of that day
            kinds = {row.kind for row in rows_for(owner, at(day)) if row.client == customer}
            assert kinds == ({Kind.RETURN_DUE} if day <= deadline else {Kind.RETURN_OVERDUE}), day
            for page in ("attention:list", "dashboard"):
                assert client.get(reverse(page)).status_code == 200, (page, day)
            assert customer.name in client.get(reverse("attention:list")).content.decode()


@pytest.mark.parametrize("month", MONTHS_2026, ids=lambda m: f"{m:%Y-%m}")
def test_the_client_list_shows_the_working_period_before_it_has_rows(month, as_role):
    """The day after M's deadline the working period is M+1, which has no rows until its window
    opens: the list reads 未到抄报期 (or what the devices say), as the dashboard counts it."""
    customer = make_client()
    make_device(customer, lock_date=period_deadline(add_months(month, 1)).date)
    day = period_deadline(month).date + dt.timedelta(days=1)
    with time_machine.travel(at(day), tick=False):
        page = as_role("admin").get(reverse("clients:list"))
        assert [c.status for c in page.context["page"]] == [PeriodStatus.NOT_OPEN]
        api = as_role("admin").get(f"/api/v1/months/{format_month(add_months(month, 1))}/").json()
        assert api["counts"][PeriodStatus.NOT_OPEN] == 1


@pytest.mark.parametrize("month", [*MONTHS_2026, dt.date(2031, 5, 1)], ids=lambda m: f"{m:%Y-%m}")
def test_the_months_api_and_the_periods_api_agree_on_a_month_not_open(month, as_role):
    make_device(make_client(), lock_date=dt.date(2040, 1, 1))
    make_client()  # no device: its lock is estimated from the calendar
    make_client(active=False)
    with time_machine.travel(at(month - dt.timedelta(days=20)), tick=False):
        client = as_role("admin")
        answer = client.get(f"/api/v1/months/{format_month(month)}/").json()
        counts = answer["counts"]
        listed = {
            code: client.get("/api/v1/periods/", {"month": format_month(month), "status": code}).json()["count"]
            for code in PeriodStatus.values
        }
    assert {k: v for k, v in counts.items() if k != "late"} == listed
    assert counts[PeriodStatus.NOT_OPEN] == 2


def summarised_period(**fields) -> Period:
    customer = make_client()
    make_device(customer, lock_date=dt.date(2026, 11, 16))
    return make_period(customer, summary_uploaded_at=at(dt.date(2026, 11, 2)), **fields)


@pytest.mark.usefixtures("nov10")
@pytest.mark.parametrize("kind", [JobKind.CLEAR, JobKind.UPLOAD_AND_CLEAR])
def test_no_summary_to_compare_holds_the_clear_until_a_person_confirms(kind, users):
    from apps.core import clock

    period = summarised_period(return_filed_on=dt.date(2026, 11, 5), declared_sales=Decimal("999999.00"))
    reason = period_reason(kind, period, clock.now())
    assert reason and ("没有抄报汇总可比对" in reason or "请先单独抄报" in reason)
    confirm_reconciliation(period, user=users["admin"])
    period.refresh_from_db()
    assert period_reason(kind, period, clock.now()) is None


@pytest.mark.usefixtures("nov10")
def test_no_summary_and_nothing_declared_is_no_comparison_and_no_hold():
    from apps.core import clock

    period = summarised_period(return_filed_on=dt.date(2026, 11, 5))
    assert period.reconciliation(Decimal("10")) is None
    assert period_reason(JobKind.CLEAR, period, clock.now()) is None


@pytest.mark.usefixtures("nov10")
def test_the_client_page_says_there_is_no_summary_to_compare(as_role):
    period = summarised_period(return_filed_on=dt.date(2026, 11, 5), declared_sales=Decimal("999999.00"))
    page = as_role("admin").get(reverse("clients:detail", args=[period.client.pk])).content.decode()
    assert "没有抄报汇总可比对" in page and "已核对，仍然清卡" in page


def test_a_deadline_on_provisional_holidays_says_so_where_it_shows(as_role, users):
    """2026-12's return is due in January 2027, whose holidays are not published yet: 预估 on the
    client page, the dashboard, 需要处理 and the month-end report (page and workbook)."""
    december = dt.date(2026, 12, 1)
    deadline = period_deadline(december)
    assert deadline.source == "provisional"
    customer = make_client(staff=users["owner"])
    make_device(customer, present=True, lock_date=deadline.date)
    make_period(customer, month=december, deadline=deadline.date, summary_uploaded_at=at(dt.date(2027, 1, 4)))
    with time_machine.travel(at(deadline.date - dt.timedelta(days=1)), tick=False):
        client = as_role("admin")
        for url in (reverse("clients:detail", args=[customer.pk]), reverse("dashboard"), reverse("attention:list")):
            assert "预估" in client.get(url).content.decode(), url
        report = client.get(reverse("reports:month_end"), {"month": "2026-12"})
        assert "预估" in report.content.decode()
        workbook = client.get(reverse("reports:month_end"), {"month": "2026-12", "export": "xlsx"})
        assert "预估".encode() in _sheet_text(workbook.content)


def _sheet_text(xlsx: bytes) -> bytes:
    import io

    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(xlsx))
    return "\n".join(str(cell) for sheet in book for row in sheet.iter_rows(values_only=True) for cell in row).encode()
