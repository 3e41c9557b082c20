"""Checks before a clear (issue 28, docs/domain.md): a return recorded before the period's 抄报
(先申报后抄报) refuses every clear with the catalogue's FILED_BEFORE_SUMMARY and its remedy (作废申报 →
抄报 → 重新申报), on the rule, the bulk preview, the client page and the autopilot; and a clear refused
for a missing return says 逾期未申报, not 待申报, once the deadline has passed. Each for the periods
of a whole year.

On the code before, the clear went ahead (the bureau would refuse it), and a period not yet
summarised past its deadline read 未完成申报（待申报）."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from apps.autopilot import cycle
from apps.autopilot.models import Autopilot
from apps.core.months import add_months
from apps.devices.errors import ERRORS, FILED_BEFORE_SUMMARY
from apps.filing_calendar.models import period_deadline
from apps.jobs.models import Job, JobKind
from apps.jobs.rules import period_reason
from apps.periods.rules import SHANGHAI
from apps.scheduling.selection import candidates
from tests.factories import autopilot_on_with_agent, make_client, make_device, make_period

pytestmark = pytest.mark.django_db
MONTHS_2026 = [dt.date(2026, m, 1) for m in range(1, 13)]
REMEDY = "作废申报 → 抄报 → 重新申报"


def at(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), SHANGHAI)


@pytest.fixture
def agent():
    return autopilot_on_with_agent()


def summarised(agent, month: dt.date, summary_on: dt.date, filed_on: dt.date, **client):
    """A client whose device did the 抄报 of `month` on `summary_on` (its own 最新报税日期), with the
    return recorded as filed on `filed_on`."""
    customer = make_client(**client)
    deadline = period_deadline(month).date
    reading = {"zxbsrq": summary_on.isoformat(), "kpjzsj": deadline.isoformat()}
    make_device(
        customer, agent=agent, present=True, lock_date=deadline, monitoring=reading, monitored_at=at(summary_on)
    )
    period = make_period(
        customer, month=month, deadline=deadline, summary_uploaded_at=at(summary_on), return_filed_on=filed_on
    )
    return customer, period


@pytest.mark.parametrize("month", MONTHS_2026, ids=lambda m: f"{m:%Y-%m}")
def test_a_return_recorded_before_the_summary_holds_every_clear(month, agent, as_role):
    summary_on = add_months(month, 1) + dt.timedelta(days=2)
    before, period = summarised(agent, month, summary_on, summary_on - dt.timedelta(days=1), name="甲先申报")
    _same_day, fine = summarised(agent, month, summary_on, summary_on, name="乙同日")
    moment = at(summary_on + dt.timedelta(days=1))
    with time_machine.travel(moment, tick=False):
        for kind in (JobKind.CLEAR, JobKind.UPLOAD_AND_CLEAR):
            reason = period_reason(kind, period, moment)
            assert reason and "先申报后抄报" in reason and REMEDY in reason, (kind, reason)
            assert period_reason(kind, fine, moment) is None
        found = {c.client.name: c.reason for c in candidates(JobKind.CLEAR, month, {}, moment)}
        assert REMEDY in (found["甲先申报"] or "") and found["乙同日"] is None
        page = as_role("admin").get(reverse("clients:detail", args=[before.pk])).content.decode()
        assert "先申报后抄报" in page and REMEDY in page
        cycle.run_pass(moment, Autopilot.current())
    cleared = set(Job.objects.filter(kind=JobKind.CLEAR).values_list("device__client__name", flat=True))
    assert cleared == {"乙同日"}


def test_the_devices_own_date_counts_before_the_sites(agent):
    """The client software did the 抄报 on the 2nd; the site heard of it on the 9th, after the return
    of the 5th: no 先申报后抄报."""
    month = dt.date(2026, 10, 1)
    _client, period = summarised(agent, month, dt.date(2026, 11, 2), dt.date(2026, 11, 5))
    period.summary_uploaded_at = at(dt.date(2026, 11, 9))
    assert period_reason(JobKind.CLEAR, period, at(dt.date(2026, 11, 10))) is None


def test_a_locked_devices_one_try_files_first_by_necessity(agent):
    """Online unlocking: the late return is recorded, then 逾期抄报 and 清卡 (docs/domain.md)."""
    month = dt.date(2026, 9, 1)
    _client, period = summarised(agent, month, dt.date(2026, 11, 20), dt.date(2026, 11, 18))
    reason = period_reason(JobKind.CLEAR, period, at(dt.date(2026, 11, 21)))
    assert reason is None or "先申报后抄报" not in reason


def test_the_refusal_is_in_the_catalogue_and_the_domain_file():
    info = ERRORS[FILED_BEFORE_SUMMARY]
    assert REMEDY in str(info.remedy) and info.retry == "never"
    from pathlib import Path

    assert FILED_BEFORE_SUMMARY in (Path(__file__).resolve().parents[2] / "docs" / "domain.md").read_text()


@pytest.mark.parametrize("month", MONTHS_2026, ids=lambda m: f"{m:%Y-%m}")
def test_a_missing_return_is_overdue_in_the_refusal_after_the_deadline(month, agent):
    """Not yet summarised and no return: 抄报并清卡 is refused for the return, 待申报 up to the deadline
    and 逾期未申报 after it (the device not locked: its 开票截止日期 is later)."""
    deadline = period_deadline(month).date
    customer = make_client()
    make_device(customer, agent=agent, present=True, lock_date=deadline + dt.timedelta(days=20))
    period = make_period(customer, month=month, deadline=deadline)
    on_time = period_reason(JobKind.UPLOAD_AND_CLEAR, period, at(deadline))
    late = period_reason(JobKind.UPLOAD_AND_CLEAR, period, at(deadline + dt.timedelta(days=1)))
    assert on_time and "待申报" in on_time and "逾期" not in on_time
    assert late and "逾期未申报" in late and "待申报" not in late
