"""A client's invoicing mode per month (税控 / 数电 / 双轨, docs/domain.md "Clients without devices:
数电"): a 数电 month tracks the return only, is never locked nor estimated, and takes no device
work from the autopilot or a batch; 双轨 needs both; changes are audited."""

import datetime as dt

import pytest
import time_machine

from apps.audit.models import AuditEvent
from apps.autopilot import cycle
from apps.autopilot.models import Autopilot
from apps.clients.models import InvoicingMode
from apps.clients.modes import set_invoicing_mode
from apps.jobs.models import Job, JobKind
from apps.periods.models import Period
from apps.periods.queries import clients_for_month
from apps.periods.rules import SHANGHAI, PeriodStatus
from apps.scheduling.selection import candidates
from tests.factories import autopilot_on_with_agent, make_client, make_device

pytestmark = pytest.mark.django_db
OCT, NOV = dt.date(2026, 10, 1), dt.date(2026, 11, 1)  # November: due 2026-12-15


def at(month, day, hour, minute=0):
    return dt.datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


@pytest.fixture
def agent():
    return autopilot_on_with_agent()


def with_device(agent, **client):
    made = make_client(**client)
    make_device(made, agent=agent, present=True, lock_date=dt.date(2026, 12, 15), monitored_at=at(12, 1, 0))
    return made


def run(moment):
    with time_machine.travel(moment, tick=False):
        return cycle.run_pass(moment, Autopilot.current())


def test_a_digital_month_tracks_the_return_and_is_never_locked(users):
    client = make_client()  # no device at all: before, 待抄报 then 已锁死（估计） every month
    set_invoicing_mode(client, InvoicingMode.DIGITAL, OCT)
    period = Period.objects.create(client=client, month=NOV, deadline=dt.date(2026, 12, 15))
    assert period.status(at(12, 1, 0, 1)) == PeriodStatus.NOT_OPEN
    assert period.status(at(12, 3, 9)) == PeriodStatus.RETURN_DUE
    assert period.status(at(12, 20, 9)) == PeriodStatus.RETURN_OVERDUE
    assert not period.lock_is_estimate(at(12, 20, 9))
    period.return_filed_on = dt.date(2026, 12, 18)
    period.save()
    assert period.status(at(12, 20, 9)) == PeriodStatus.NO_CLEAR_NEEDED
    row = clients_for_month(users["admin"], NOV, at(12, 20, 9)).get(pk=client.pk)
    assert row.status_code == PeriodStatus.NO_CLEAR_NEEDED
    # October is 数电 too; September, before the change, is not
    quarterly = make_client(taxpayer_kind="small_scale")
    set_invoicing_mode(quarterly, InvoicingMode.DIGITAL, OCT)
    assert Period.blank(quarterly, NOV).status(at(12, 3, 9)) == PeriodStatus.NO_CLEAR_NEEDED  # no return due
    assert Period.blank(quarterly, dt.date(2026, 9, 1)).status(at(10, 3, 9)) == PeriodStatus.SUMMARY_DUE


def test_a_change_is_audited_once_and_takes_effect_from_its_month(users):
    client = make_client()
    assert client.invoicing_mode(NOV) == InvoicingMode.TAX_CONTROL
    assert set_invoicing_mode(client, InvoicingMode.DUAL, OCT, user=users["admin"])
    assert not set_invoicing_mode(client, InvoicingMode.DUAL, NOV, user=users["admin"])  # already 双轨 then
    assert set_invoicing_mode(client, InvoicingMode.DIGITAL, dt.date(2026, 12, 9), user=users["admin"])
    client = client.__class__.objects.get(pk=client.pk)
    assert [client.invoicing_mode(m) for m in (dt.date(2026, 9, 1), OCT, NOV, dt.date(2026, 12, 1))] == [
        InvoicingMode.TAX_CONTROL,
        InvoicingMode.DUAL,
        InvoicingMode.DUAL,
        InvoicingMode.DIGITAL,
    ]
    events = AuditEvent.objects.filter(action="client.invoicing_mode").order_by("id")
    assert [e.after for e in events] == [
        {"mode": "dual", "from_month": "2026-10"},
        {"mode": "digital", "from_month": "2026-12"},
    ]
    assert events[0].before == {"mode": "tax_control", "from_month": "2026-10"}


def test_the_autopilot_and_a_batch_follow_the_mode(agent):
    digital = with_device(agent, name="甲数电")
    dual = with_device(agent, name="乙双轨")
    set_invoicing_mode(digital, InvoicingMode.DIGITAL, NOV)
    set_invoicing_mode(dual, InvoicingMode.DUAL, NOV)
    for moment in (at(12, 1, 0, 6), at(12, 3, 8)):  # the 抄报, then the daily read in the 征期
        run(moment)
    assert not Job.objects.filter(device__client=digital).exists()
    assert Job.objects.filter(device__client=dual, kind=JobKind.UPLOAD_SUMMARY).count() == 1
    found = {c.client.name: c for c in candidates(JobKind.UPLOAD_SUMMARY, NOV, {}, at(12, 3, 9))}
    assert "数电" in (found["甲数电"].reason or "")
    assert found["甲数电"].status == PeriodStatus.RETURN_DUE


def test_a_straggler_from_before_the_switch_is_still_cleared(agent):
    client = with_device(agent, taxpayer_kind="small_scale")  # October: no return; November: 数电
    set_invoicing_mode(client, InvoicingMode.DIGITAL, NOV)
    Period.objects.create(client=client, month=OCT, deadline=dt.date(2026, 11, 16), summary_uploaded_at=at(11, 2, 9))
    run(at(12, 1, 0, 6))
    assert list(Job.objects.filter(device__client=client).values_list("kind", flat=True)) == [JobKind.CLEAR]
