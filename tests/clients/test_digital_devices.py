"""A client switching to 数电 (docs/domain.md, "Clients without devices: 数电"): its devices are
retired from the chosen month, still serve the periods before it, and wait in 需要处理 to be
cancelled at the bureau (注销) until a person marks them 已注销; no 设备不在位 row for them once the
working period is 数电. Each checked for a switch in every month of a year.

On the code before: the devices stayed in service, the reminder and the 已注销 action did not exist."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from apps.attention.rows import Kind, rows_for
from apps.audit.models import AuditEvent
from apps.autopilot import cycle
from apps.autopilot.models import Autopilot
from apps.clients.models import InvoicingMode
from apps.clients.modes import set_invoicing_mode
from apps.core.months import add_months
from apps.devices.models import Device, Health, in_service
from apps.filing_calendar.models import period_deadline
from apps.jobs.models import Job, JobKind
from apps.periods.models import Period
from apps.periods.rules import SHANGHAI, window_opens
from tests.factories import autopilot_on_with_agent, make_client, make_device

pytestmark = pytest.mark.django_db
SWITCHES = [dt.date(2026, m, 1) for m in range(1, 13)]  # 数电 from this month on


def at(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), SHANGHAI)


@pytest.fixture
def agent():
    return autopilot_on_with_agent()


def kinds_for(user, client, moment):
    return {row.kind for row in rows_for(user, moment) if row.client == client}


@pytest.mark.parametrize("switch", SWITCHES, ids=lambda m: f"{m:%Y-%m}")
def test_a_switch_to_digital_retires_the_devices_from_its_month(switch, agent, users, as_role):
    last = add_months(switch, -1)  # the last 税控 period, worked in the switch's month
    client = make_client(staff=users["owner"])
    deadline = period_deadline(last).date
    device = make_device(client, agent=agent, present=False, lock_date=deadline, monitored_at=at(last))
    assert set_invoicing_mode(client, InvoicingMode.DIGITAL, switch, user=users["admin"])
    device.refresh_from_db()
    assert (device.health, device.retired_from) == (Health.RETIRED, switch)
    assert AuditEvent.objects.filter(action="device.retired", object_id=str(device.pk)).count() == 1
    assert in_service(device, last) and not in_service(device, switch) and not in_service(device)
    assert Device.objects.in_service(last).filter(pk=device.pk).exists()
    assert not Device.objects.in_service(switch).filter(pk=device.pk).exists()

    # the last period is still worked on the device: 抄报 once its window opens
    Device.objects.filter(pk=device.pk).update(present=True)
    opened = window_opens(last) + dt.timedelta(minutes=1)
    with time_machine.travel(opened, tick=False):
        cycle.run_pass(opened, Autopilot.current())
    assert list(Job.objects.filter(device=device).values_list("kind", "period__month")) == [
        (JobKind.UPLOAD_SUMMARY, last)
    ]
    # meanwhile 需要处理 says it is to be cancelled once that period is done
    row = next(r for r in rows_for(users["owner"], opened) if r.kind == Kind.DEREGISTER)
    assert row.device == device and "完成最后一期" in row.reason
    # once the working period is 数电, an absent device is no 设备不在位
    Device.objects.filter(pk=device.pk).update(present=False)
    in_season = window_opens(switch) + dt.timedelta(days=1)
    with time_machine.travel(in_season, tick=False):
        assert Kind.MISSING not in kinds_for(users["owner"], client, in_season)


def test_the_reminder_goes_once_marked_deregistered(users, as_role):
    client = make_client(staff=users["owner"])
    device = make_device(client)
    set_invoicing_mode(client, InvoicingMode.DIGITAL, dt.date(2026, 11, 1))
    Period.objects.create(
        client=client, month=dt.date(2026, 10, 1), deadline=dt.date(2026, 11, 16), cleared_at=at(dt.date(2026, 11, 3))
    )
    moment = at(dt.date(2026, 11, 20))
    row = next(r for r in rows_for(users["owner"], moment) if r.kind == Kind.DEREGISTER)
    assert "已完成" in row.reason and "注销" in row.reason
    page = as_role("owner")
    answer = page.post(reverse("devices:deregistered", args=[device.pk]), {"back": "attention"})
    assert answer.status_code == 302 and answer.url == reverse("attention:list")
    assert Kind.DEREGISTER not in kinds_for(users["owner"], client, moment)
    assert AuditEvent.objects.filter(action="device.deregistered", object_id=str(device.pk)).count() == 1
    page.post(reverse("devices:deregistered", args=[device.pk]))  # a second mark changes nothing
    assert AuditEvent.objects.filter(action="device.deregistered").count() == 1


def test_only_the_clients_operators_mark_a_device_deregistered(users, as_role):
    client = make_client(staff=users["owner"])
    device = make_device(client)
    set_invoicing_mode(client, InvoicingMode.DIGITAL, dt.date(2026, 11, 1))
    for role in ("colleague", "readonly"):
        answer = as_role(role).post(reverse("devices:deregistered", args=[device.pk]))
        assert answer.status_code in (403, 404), role
    device.refresh_from_db()
    assert device.deregistered_at is None


def test_a_device_not_retired_by_a_switch_cannot_be_marked(users, as_role):
    client = make_client(staff=users["owner"])
    device = make_device(client, health=Health.RETIRED)  # retired by a person: no 注销 reminder
    answer = as_role("owner").post(reverse("devices:deregistered", args=[device.pk]), follow=True)
    assert "只能标记" in answer.content.decode()
    device.refresh_from_db()
    assert device.deregistered_at is None
    assert Kind.DEREGISTER not in kinds_for(users["owner"], client, at(dt.date(2026, 12, 1)))


def test_back_to_dual_puts_the_devices_in_service_again(users):
    client = make_client()
    device = make_device(client)
    set_invoicing_mode(client, InvoicingMode.DIGITAL, dt.date(2026, 11, 1), user=users["admin"])
    set_invoicing_mode(client, InvoicingMode.DUAL, dt.date(2027, 1, 1), user=users["admin"])
    device.refresh_from_db()
    assert (device.health, device.retired_from) == (Health.GOOD, None)
    assert AuditEvent.objects.filter(action="device.reinstated", object_id=str(device.pk)).count() == 1
