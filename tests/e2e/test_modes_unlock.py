"""数电 / 双轨 months and locked devices after the deadline, on the real processes (site, rq worker and
sweeper with the autopilot, Redis, qingka-agent with a simulated cabinet): a 数电 client's device
gets nothing while its 双轨 neighbour is 抄报'd and 清卡'd; a locked device whose late return is
recorded is unlocked online by one 逾期抄报 and 清卡, asked by a person or by the autopilot; where
the bureau unlocks only at the hall, the one try is refused and the device held, naming the bureau's
reason, with nothing tried again (docs/domain.md, "Clients without devices: 数电" and "After the
deadline: unlocking")."""

import datetime as dt

import pytest
from django.test import Client as WebClient
from django.urls import reverse

from apps.accounts.models import FirmSettings, UnlockPolicy, User
from apps.autopilot.models import Autopilot, Exclusion
from apps.clients.models import InvoicingMode
from apps.clients.modes import set_invoicing_mode
from apps.core import clock
from apps.devices.models import Device, Health
from apps.holds.models import Hold, HoldReason
from apps.jobs.models import Job, JobKind, JobState, Origin
from apps.jobs.requesting import request_jobs
from apps.periods.models import Period
from apps.periods.rules import PeriodStatus
from apps.periods.services import record_return_filed
from tests.factories import make_api_key

from .conftest import device_spec, register_clients, wait_for_jobs
from .processes import wait_until

pytestmark = [pytest.mark.integration]
NOV = dt.date(2026, 11, 1)  # due 2026-12-16 (税总办征科函〔2025〕64号)
DEADLINES = {"2026-12": "2026-12-16"}  # the simulated bureau's 征期, the same as the site's
AFTER_DEADLINE = "2026-12-21T12:00:00+08:00"  # outside the busy hours the autopilot avoids


def start(stack, specs: dict, subs: dict | None = None, **cabinet):
    """The clients of `specs` (name → device spec; `subs`: name → its sub device's) on the site and
    their devices in one cabinet, the agent online and every device's first reading (its 开票截止日期)
    on the site. Returns each client's main device."""
    devices = register_clients([{**spec, "name": name} for name, spec in specs.items()])
    for name, spec in (subs or {}).items():
        client = devices[list(specs).index(name)].client
        Device.objects.create(client=client, kind=spec["kind"], number=spec["device_number"], sub_number=1)
    in_cabinet = [*specs.values(), *(subs or {}).values()]
    stack.cabinet("cabinet-m", in_cabinet, deadlines=DEADLINES, **cabinet).start_agent(len(in_cabinet))
    wait_until(
        lambda: all(lock_date for lock_date in Device.objects.values_list("lock_date", flat=True)),
        timeout=30,
        what="the devices' first readings",
    )
    found = Device.objects.select_related("agent", "client").in_bulk([d.pk for d in devices])
    return {name: found[d.pk] for name, d in zip(specs, devices, strict=True)}


def autopilot_on():
    Autopilot.objects.update_or_create(
        pk=1, defaults={"enabled": True, "avoid_busy_hours": False, "per_agent_per_minute": 600}
    )


def passes_after(moment: dt.datetime, passes: int = 2) -> None:
    """The autopilot has run at least `passes` passes after `moment` (one a second)."""
    wait_until(
        lambda: (last := Autopilot.current().last_pass_at) and last > moment + dt.timedelta(seconds=passes),
        timeout=30,
        what=f"{passes} autopilot passes",
    )


def status(period: Period) -> PeriodStatus:
    period.refresh_from_db()
    return period.status()


def device_jobs(device: Device) -> list[tuple[str, str]]:
    return list(Job.objects.filter(device=device).order_by("pk").values_list("kind", "state"))


def locked_spec(n, **extra):
    """A device that missed November's 清卡: its last 抄报 in November (October's), locked since the
    16th of December."""
    return device_spec(n, zxbsrq="2026-11-02", kpjzsj="2026-12-16", **extra)


@pytest.mark.clock("2026-12-03T12:00:00+08:00")
def test_digital_and_dual_clients_through_one_month(stack):
    devices = start(stack, {"数电客户": device_spec(81), "双轨客户": device_spec(82, kind="ukey")})
    digital, dual = devices["数电客户"], devices["双轨客户"]
    set_invoicing_mode(digital.client, InvoicingMode.DIGITAL, NOV)  # its old device stays plugged in
    set_invoicing_mode(dual.client, InvoicingMode.DUAL, NOV)
    # readings from yesterday, unchanged since (one that only moves the clock is not written again):
    # in the 征期 the autopilot's daily 读取状态 is due
    Device.objects.update(monitored_at=clock.now() - dt.timedelta(days=1))
    autopilot_on()

    # 抄报 for the 双轨 client with no one asking; its return is still to come
    dual_period = Period.for_client(dual.client, NOV)
    wait_until(lambda: status(dual_period) == PeriodStatus.RETURN_DUE, timeout=60, what="the 双轨 client's 抄报")
    digital_period = Period.for_client(digital.client, NOV)
    assert status(digital_period) == PeriodStatus.RETURN_DUE  # a 数电 month: only the return counts
    _jobs, skipped = request_jobs(JobKind.UPLOAD_SUMMARY, [digital], period=digital_period)  # nor a person
    assert [reason for _device, reason in skipped] == ["数电：本期不使用税控设备，无需抄报清卡"]

    for period in (digital_period, dual_period):
        record_return_filed(period, clock.today())
    assert status(digital_period) == PeriodStatus.NO_CLEAR_NEEDED
    assert Period.objects.with_status().get(pk=digital_period.pk).status_code == PeriodStatus.NO_CLEAR_NEEDED
    wait_until(lambda: status(dual_period) == PeriodStatus.DONE, timeout=60, what="the 双轨 client's 清卡")
    page = WebClient()
    page.force_login(User.objects.create_user("wang", password="pw-wang-1", role=User.Role.ADMIN))
    for device, shown in ((digital, "无需清卡"), (dual, "已完成")):  # what a person reads on each client's page
        assert f"2026年11月 {shown}" in page.get(reverse("clients:detail", args=[device.client_id])).content.decode()

    summary_and_clear = Job.objects.filter(device=dual).exclude(kind=JobKind.READ_STATUS).order_by("pk")
    assert [(j.kind, j.state, j.origin) for j in summary_and_clear] == [
        (JobKind.UPLOAD_SUMMARY, JobState.SUCCEEDED, Origin.AUTOPILOT),
        (JobKind.CLEAR, JobState.SUCCEEDED, Origin.AUTOPILOT),
    ]
    assert device_jobs(digital) == []  # not even the daily 读取状态
    digital.refresh_from_db()
    assert (digital.health, digital.retired_from, digital.present) == (Health.RETIRED, NOV, True)
    cabinet = stack.cabinets[0].simulated_devices()
    counts = {name: cabinet[d.number]["monitoring"] for name, d in devices.items()}
    assert {name: (m["summary_count"], m["clear_count"]) for name, m in counts.items()} == {
        "数电客户": (0, 0),
        "双轨客户": (1, 1),
    }


@pytest.mark.clock(AFTER_DEADLINE)
def test_locked_devices_are_unlocked_online_once_the_late_return_is_recorded(stack):
    """One client by a person's requests, one with a sub device by the autopilot."""
    FirmSettings.objects.update_or_create(pk=1, defaults={"unlock_policy": UnlockPolicy.ONLINE_FIRST})
    main = locked_spec(94)
    devices = start(
        stack,
        {"锁死客户": locked_spec(91), "主分机客户": main},
        subs={"主分机客户": locked_spec(95, taxpayer_id=main["taxpayer_id"], sub_number=1)},
    )
    device = devices["锁死客户"]
    Exclusion.objects.create(client=device.client, reason="客户自行处理")  # its jobs by people only
    autopilot_on()
    period, with_sub = (Period.for_client(devices[name].client, NOV) for name in devices)
    assert status(period) == status(with_sub) == PeriodStatus.LOCKED and not period.lock_is_estimate()

    _jobs, skipped = request_jobs(JobKind.UPLOAD_SUMMARY, [device], period=period)
    assert "逾期未申报" in skipped[0][1]  # nothing tried before the late return is recorded
    passes_after(clock.now())  # nor by the autopilot
    assert not Job.objects.exists()
    # filed yesterday, before the 逾期抄报 by necessity: not refused as 先申报后抄报
    for each in (period, with_sub):
        record_return_filed(each, clock.today() - dt.timedelta(days=1))

    for kind in (JobKind.UPLOAD_SUMMARY, JobKind.CLEAR):  # the one try: 逾期抄报, then 清卡
        period.refresh_from_db()  # its 抄报 recorded before the 清卡
        jobs, skipped = request_jobs(kind, [device], period=period)
        assert not skipped, skipped
        [job] = wait_for_jobs(jobs, timeout=60)
        assert (job.state, job.error_code) == (JobState.SUCCEEDED, ""), stack.logs()

    assert status(period) == PeriodStatus.DONE
    wait_until(lambda: status(with_sub) == PeriodStatus.DONE, timeout=60, what="the autopilot's unlock")
    jobs = Job.objects.filter(device__client=with_sub.client).order_by("pk")
    steps = [(j.kind, j.device.sub_number, j.state, j.origin) for j in jobs]  # 逾期抄报 on both before any 清卡
    assert sorted(steps[:2]) == [(JobKind.UPLOAD_SUMMARY, sub, JobState.SUCCEEDED, Origin.AUTOPILOT) for sub in (0, 1)]
    assert sorted(steps[2:]) == [(JobKind.CLEAR, sub, JobState.SUCCEEDED, Origin.AUTOPILOT) for sub in (0, 1)]
    for each in Device.objects.all():
        assert each.lock_date > clock.today() and not each.lock_state(clock.today()), each
    assert not Hold.objects.exists()  # tried online first: the sweeper never held them


@pytest.mark.clock(AFTER_DEADLINE)
def test_where_the_bureau_unlocks_only_at_the_hall_the_device_is_held_and_nothing_is_tried_again(stack):
    devices = start(
        stack,
        {"上海客户": locked_spec(92, region="上海"), "大厅客户": locked_spec(93)},
        bureau={"hall_only_regions": ["上海"]},
    )
    shanghai, hall = devices["上海客户"], devices["大厅客户"]
    hall.client.unlock_policy = UnlockPolicy.HALL  # the client's own setting: never tried online
    hall.client.save()
    periods = {name: Period.for_client(d.client, NOV) for name, d in devices.items()}
    autopilot_on()

    # 须到大厅 by setting: held at once by the sweeper, once for this lock
    held = wait_until(lambda: Hold.objects.active().filter(device=hall).first(), timeout=30, what="the hall hold")
    assert (held.reason, held.lock_date) == (HoldReason.LOCKED, dt.date(2026, 12, 16))

    for period in periods.values():
        record_return_filed(period, clock.today())
    [tried] = wait_for_jobs(
        wait_until(lambda: list(Job.objects.filter(device=shanghai)), timeout=60, what="the one try"), timeout=60
    )
    refused = "设备已锁死，上海税务机关不支持远程解锁，须到办税服务厅处理"
    assert (tried.kind, tried.origin, tried.state) == (JobKind.UPLOAD_AND_CLEAR, Origin.AUTOPILOT, JobState.FAILED)
    assert (tried.error_code, tried.error_message, tried.attempts) == ("DEVICE_LOCKED", refused, 1)
    hold = Hold.objects.active().get(device=shanghai)
    assert (hold.reason, hold.error_code, hold.job) == (HoldReason.HALL, "DEVICE_LOCKED", tried)
    assert hold.described == refused

    passes_after(clock.now())  # the autopilot passes by both devices and makes nothing more
    assert device_jobs(shanghai) == [(JobKind.UPLOAD_AND_CLEAR, JobState.FAILED)]
    assert device_jobs(hall) == []
    for name, device in devices.items():  # nor does a person's request
        _jobs, skipped = request_jobs(JobKind.UPLOAD_AND_CLEAR, [device], period=periods[name])
        assert "办税服务厅" in skipped[0][1], (name, skipped)
        assert status(periods[name]) == PeriodStatus.LOCKED
    assert Hold.objects.active().count() == 2

    # the client page says why, in the bureau's words; a retry through the API is refused
    admin = User.objects.create_user("wang", password="pw-wang-1", role=User.Role.ADMIN)
    page = WebClient()
    page.force_login(admin)
    shown = page.get(reverse("clients:detail", args=[shanghai.client.pk])).content.decode()
    assert "须到大厅" in shown and refused in shown
    api = WebClient(HTTP_AUTHORIZATION=f"Token {make_api_key(admin)}")
    retried = api.post(f"/api/v1/jobs/{tried.pk}/retry/")
    assert retried.status_code == 409 and "办税服务厅" in retried.json()["detail"], retried.content
    assert device_jobs(shanghai) == [(JobKind.UPLOAD_AND_CLEAR, JobState.FAILED)]
