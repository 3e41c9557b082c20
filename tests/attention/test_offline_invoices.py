"""需要处理 for offline invoices (issue 28): a device still holding invoices issued offline
(offline_pending, as its heartbeat or a job reports it) gets a row from two days before its 上传截止日期
(scjzrq), and none once they are uploaded; for the deadlines of a whole year. On the code before there
was no such row."""

import datetime as dt

import pytest
import time_machine

from apps.attention.rows import Kind, rows_for
from apps.filing_calendar.models import period_deadline
from apps.periods.rules import SHANGHAI
from tests.factories import make_client, make_device

pytestmark = pytest.mark.django_db
MONTHS_2026 = [dt.date(2026, m, 1) for m in range(1, 13)]


def at(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(10), SHANGHAI)


@pytest.mark.parametrize("month", MONTHS_2026, ids=lambda m: f"{m:%Y-%m}")
def test_offline_invoices_are_listed_from_two_days_before_their_deadline(month, users):
    scjzrq = period_deadline(month).date
    customer = make_client(staff=users["owner"])
    device = make_device(customer, monitoring={"offline_pending": 3, "scjzrq": scjzrq.isoformat()})

    def rows(day):
        with time_machine.travel(at(day), tick=False):
            return [r for r in rows_for(users["owner"], at(day)) if r.kind == Kind.OFFLINE_INVOICES]

    assert rows(scjzrq - dt.timedelta(days=3)) == []
    (row,) = rows(scjzrq - dt.timedelta(days=2))
    assert row.device == device and "3 张离线发票" in row.reason and str(scjzrq) in row.reason
    assert len(rows(scjzrq + dt.timedelta(days=1))) == 1  # past it: still there, more urgent
    device.monitoring = {"offline_pending": 0, "scjzrq": scjzrq.isoformat()}
    device.save()
    assert rows(scjzrq) == []
