"""Demo data: a bookkeeping firm of about 120 clients with two years of history, as it stands at
the demo's moment (apps/core/clock.py), and the simulated cabinet that holds their devices,
written to match: a device cleared in the seeded data is cleared in the cabinet, and the faults
the client pages name are the ones the cabinet will produce.

Where the demo's moment falls decides what the working period looks like: in the first days of
the month most clients are 待抄报 (some client software did it at 00:05), before the deadline a
mix, on the deadline day the last-day filers, after it last period mostly done with its
stragglers and the next period waiting for its window."""

import datetime as dt
import random
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.autopilot.models import Autopilot
from apps.clients.identifiers import credit_check_character, org_code_check_character
from apps.clients.models import Client
from apps.core import clock
from apps.core.months import add_months, format_month
from apps.devices.models import DEFAULT_PASSWORDS, Agent, Device, DeviceKind
from apps.filing_calendar.models import deadline_for, period_deadline
from apps.periods.models import Period, acting_month, working_month
from apps.periods.rules import SHANGHAI, acting_month_for, return_due, window_opens

DEMO_PASSWORD = "qingka-demo"
DEMO_AGENT = "演示前置机"
HISTORY_MONTHS = 24
COMPANY_WORDS = ["华信", "金桥", "宏达", "瑞丰", "中兴", "鼎盛", "恒通", "东方", "嘉禾", "新元", "天成", "博远"]
TRADES = ["科技", "贸易", "餐饮", "建材", "物流", "咨询", "电子", "印务"]
STAFF = [
    ("admin", User.Role.ADMIN, "王主管"),
    ("kuaiji1", User.Role.ACCOUNTANT, "李会计"),
    ("kuaiji2", User.Role.ACCOUNTANT, "张会计"),
    ("kuaiji3", User.Role.ACCOUNTANT, "陈会计"),
    ("viewer", User.Role.READONLY, "赵只读"),
]
KINDS = (DeviceKind.TAX_DISK, DeviceKind.UKEY, DeviceKind.GOLDEN_TAX_DISK)
LATE_LOCK_DAYS = 14  # some regions' devices lock two weeks after the filing deadline
# The faults the cabinet produces, each on one client (by its demo number), as the client page names them.
FAULTS = {
    5: ("wrong_password", "演示故障：机柜中设备的证书口令与系统记录的不同（抄报、清卡将报“证书口令错误”）"),
    11: ("unfiled_at_bureau", "演示故障：本期申报已在系统中记录，但税局并未收到（清卡将报“未完成申报”）"),
    17: ("unplugged", "演示故障：设备已从机柜中拔出（设备不在位）"),
    23: ("flaky_line", "演示故障：前置机网络不稳，前两次与税局通信失败后恢复（自动重试）"),
    29: ("lock_passed", "演示故障：上期未清卡，设备已过开票截止日期（已锁死，需到税务机关处理）"),
    35: ("offline_invoices", "演示故障：有已开具未上传的离线发票，已到上传截止日期（抄报将报 246）"),
}
LOCK_LATE_FAULTS = ("wrong_password", "unfiled_at_bureau", "unplugged", "offline_invoices")
STRAGGLERS_NOT_LOCKED = ("clear_due", "return_overdue", "summary_due")  # their devices lock later
SUB_DEVICE_EVERY = 15  # every 15th client has a main and a sub device
DEMO_PACE = 300  # the autopilot's jobs per agent per minute in the demo
LOCKED_AND_UNLOCKED = 41  # the client whose device locked once, months ago, and was unlocked by the bureau


def demo_credit_code(n: int) -> str:
    body = f"MA{n:06X}".replace("I", "J").replace("O", "P")
    first17 = "91320100" + body + org_code_check_character(body)
    return first17 + credit_check_character(first17)


@dataclass
class Plan:
    """When one client does each step of one period (None: not done by now)."""

    summary: dt.datetime | None = None
    filed: dt.date | None = None
    cleared: dt.datetime | None = None


@dataclass
class DemoClient:
    n: int
    client: Client
    speed: float  # 0: does everything first thing, 1: files on the last day
    fault: str | None
    late_lock: bool  # its devices lock LATE_LOCK_DAYS after the deadline
    straggler: str | None  # what is left undone of the last period after its deadline
    devices: list[Device] = field(default_factory=list)


def seed(clients: int = 120, now: dt.datetime | None = None) -> dict[str, User]:
    """The firm as it stands at `now` (the demo's clock). Idempotent: a second run for the same
    firm changes nothing. Writes the cabinet that matches it (cabinet_path())."""
    now = now or clock.now()
    with transaction.atomic():
        staff = _staff()
        if not Client.objects.filter(taxpayer_id=demo_credit_code(1)).exists():
            firm = _firm(clients, staff, now)
            _write_cabinet(firm, now)
            # the demo runs its month by itself; a simulated cabinet takes a quicker pace than the default
            Autopilot.objects.update_or_create(pk=1, defaults={"enabled": True, "per_agent_per_minute": DEMO_PACE})
    return staff


def cabinet_path() -> Path:
    return settings.VAR_DIR / "demo" / "cabinet.yaml"


def _staff() -> dict[str, User]:
    staff = {}
    for username, role, name in STAFF:
        user, created = User.objects.get_or_create(
            username=username,
            defaults={
                "role": role,
                "display_name": name,
                "is_staff": role == User.Role.ADMIN,
                "is_superuser": role == User.Role.ADMIN,
            },
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save()
        staff[username] = user
    return staff


def _firm(count: int, staff: dict[str, User], now: dt.datetime) -> list[DemoClient]:
    rng = random.Random(7)
    accountants = [user for user in staff.values() if user.role == User.Role.ACCOUNTANT]
    agent = _agent(now)
    working = working_month(timezone.localdate(now))
    acting = acting_month_for(working, now)
    stragglers = _straggler_kinds(count, rng) if acting != working else {}
    firm = []
    for n in range(1, count + 1):
        fault = FAULTS.get(n, (None, ""))[0]
        straggler = stragglers.get(n)
        client = Client.objects.create(
            taxpayer_id=demo_credit_code(n),
            name=f"南京{rng.choice(COMPANY_WORDS)}{rng.choice(TRADES)}有限公司（演示{n:03d}）",
            taxpayer_kind="small_scale" if n % 3 == 0 else "general",
            staff=accountants[n % len(accountants)],
            contact_name="财务",
            notes=_notes(n),
        )
        locks_late = (
            n % 4 == 0 or fault in LOCK_LATE_FAULTS or straggler in ("clear_due", "return_overdue", "summary_due")
        )
        firm.append(
            DemoClient(
                n=n,
                client=client,
                speed=rng.random(),
                fault=fault,
                late_lock=locks_late and fault != "lock_passed" and straggler != "locked",
                straggler=straggler,
            )
        )
    periods, devices = [], []
    for demo in firm:
        plans = {month: _plan(demo, month, working, acting, now) for month in _months(working, now)}
        for month, plan in plans.items():
            periods.append(
                Period(
                    client=demo.client,
                    month=month,
                    deadline=period_deadline(month).date,
                    summary_uploaded_at=plan.summary,
                    return_filed_on=plan.filed if return_due(demo.client.filing_frequency, month) else None,
                    cleared_at=plan.cleared,
                )
            )
        demo.devices = _devices(demo, agent, plans, now)
        devices += demo.devices
    Period.objects.bulk_create(periods)
    Device.objects.bulk_create(devices)
    return firm


def _notes(n: int) -> str:
    notes = [FAULTS[n][1]] if n in FAULTS else []
    if n == LOCKED_AND_UNLOCKED:
        notes.append("曾因逾期未清卡锁死，经主管税务机关解锁后补办抄报清卡（见近24个月记录中逾期完成的月份）")
    return "\n".join(notes)


def _agent(now: dt.datetime) -> Agent:
    """The cabinet's agent as last seen; `manage.py demo` starts the real one with a new token."""
    agent = Agent(name=DEMO_AGENT, location="演示机柜", online=True, last_heartbeat_at=now, hostname="demo-cabinet")
    agent.set_new_token()
    agent.save()
    return agent


def _straggler_kinds(count: int, rng: random.Random) -> dict[int, str]:
    """After the deadline about a quarter of last period is still open, of several kinds."""
    free = [n for n in range(1, count + 1) if n not in FAULTS and n != LOCKED_AND_UNLOCKED]
    rng.shuffle(free)
    kinds = ["clear_due"] * 8 + ["return_overdue"] * 9 + ["summary_due"] * 5 + ["locked"] * 4
    return dict(zip(free, kinds, strict=False))


def _months(working: dt.date, now: dt.datetime) -> list[dt.date]:
    """The periods the firm has rows for: two years up to the working period, once its window opened."""
    months = [add_months(working, -n) for n in range(1, HISTORY_MONTHS)]
    return ([working] if now >= window_opens(working) else []) + months


def _plan(demo: DemoClient, month: dt.date, working: dt.date, acting: dt.date, now: dt.datetime) -> Plan:
    """What this client did of `month` by `now`: each step at its planned time, less what is
    left undone of the periods being worked on (faults and stragglers)."""
    opens = window_opens(month)
    deadline = period_deadline(month).date
    first = opens.date()
    rng = random.Random(f"{demo.n}:{month}")
    if demo.speed < 0.3:  # client software that does 抄报 on its own right after the window opens
        summary = opens + dt.timedelta(minutes=rng.randint(5, 40))
    else:
        summary = _at(first, 1 + rng.randint(0, 2), 10)
    filed: dt.date | None
    cleared: dt.datetime | None
    if demo.speed < 0.35:
        filed = first + dt.timedelta(days=rng.randint(2, 5))
    elif demo.speed < 0.7:
        filed = first + dt.timedelta(days=rng.randint(6, max(6, (deadline - first).days - 2)))
    else:
        filed = deadline  # the last-day rush
    filed = max(filed, timezone.localdate(summary))
    cleared = _at(filed, 0, 16 if filed == deadline else 11)
    if demo.n == LOCKED_AND_UNLOCKED and month == add_months(working, -7):
        filed, cleared = deadline + dt.timedelta(days=9), _at(deadline, 12, 15)  # locked, unlocked, cleared late
    elif rng.random() < 0.03:  # now and then a return filed a day or two late on a device that locks later
        filed = deadline + dt.timedelta(days=rng.randint(1, 2))
        cleared = _at(filed, 0, 15)
    left = _left_undone(demo, month, working, acting)
    if left == "summary_due":
        return Plan()
    if left in ("return_overdue", "locked"):
        filed, cleared = None, None
    elif left == "clear_due":
        cleared = None
    return Plan(
        summary=summary if summary <= now else None,
        filed=filed if filed and summary <= now and _at(filed, 0, 9) <= now else None,
        cleared=cleared if cleared and cleared <= now else None,
    )


def _at(day: dt.date, days_later: int, hour: int) -> dt.datetime:
    return dt.datetime.combine(day + dt.timedelta(days=days_later), dt.time(hour), SHANGHAI)


def _left_undone(demo: DemoClient, month: dt.date, working: dt.date, acting: dt.date) -> str | None:
    """What is still open of the period being acted on, and of last period for the locked device."""
    if month == add_months(working, -1) and demo.fault == "lock_passed":
        return "locked"
    if month != acting:
        return None
    if demo.fault in ("wrong_password", "unplugged", "offline_invoices", "lock_passed"):
        return "summary_due"
    if demo.fault == "unfiled_at_bureau":
        return "clear_due"
    return demo.straggler


def _devices(demo: DemoClient, agent: Agent, plans: dict[dt.date, Plan], now: dt.datetime) -> list[Device]:
    """Its devices, as the cabinet last reported them: 抄报 date and lock date from the seeded periods."""
    last_summary = max((p.summary for p in plans.values() if p.summary), default=None)
    cleared_months = [month for month, p in plans.items() if p.cleared]
    lock_date = _lock_date(demo, max(cleared_months) if cleared_months else add_months(_month_of(now), -2))
    reading = {
        "zxbsrq": (timezone.localdate(last_summary) if last_summary else add_months(_month_of(now), -1)).isoformat(),
        "kpjzsj": lock_date.isoformat(),
        "clock": now.astimezone(SHANGHAI).isoformat(timespec="seconds"),
        "simulated": True,
    }
    kind = DeviceKind.GOLDEN_TAX_DISK if demo.fault == "offline_invoices" else KINDS[demo.n % len(KINDS)]
    numbers = [f"66{demo.n:010d}"] + ([f"67{demo.n:010d}"] if demo.n % SUB_DEVICE_EVERY == 0 else [])
    return [
        Device(
            client=demo.client,
            kind=kind,
            number=number,
            sub_number=sub,
            agent=agent,
            slot=f"sim-{demo.n}-{sub}",
            simulated=True,
            present=demo.fault != "unplugged",
            last_seen_at=now,
            monitoring={**reading, "device_number": number, "kind": str(kind), "sub_number": sub},
            monitored_at=now,
            lock_date=lock_date,
            # bulk_create skips Device.save(), which fills in the kind's default passwords
            certificate_password=DEFAULT_PASSWORDS[kind][0],
            device_password=DEFAULT_PASSWORDS[kind][1],
        )
        for sub, number in enumerate(numbers)
    ]


def _month_of(moment: dt.datetime) -> dt.date:
    return timezone.localdate(moment).replace(day=1)


def _lock_date(demo: DemoClient, last_cleared: dt.date) -> dt.date:
    """After clearing period M the device may invoice until the deadline of M+1, later in some regions."""
    deadline = period_deadline(add_months(last_cleared, 1)).date
    return deadline + dt.timedelta(days=LATE_LOCK_DAYS) if demo.late_lock else deadline


FAULT_SPECS: dict[str, dict] = {  # the simulated device's settings that make each demo fault
    "wrong_password": {"certificate_password": "87654321"},
    "flaky_line": {"transfer_failures": 2},
    "offline_invoices": {"offline_invoices_pending": True},
}


def _write_cabinet(firm: list[DemoClient], now: dt.datetime) -> None:
    """The simulated cabinet of every demo device, in the state the seeded data says, with the faults."""
    acting = acting_month(now)
    specs, unfiled = [], {}
    for demo in firm:
        for device in demo.devices:
            spec = {
                "device_number": device.number,
                "kind": str(device.kind),
                "slot": device.slot,
                "taxpayer_id": demo.client.taxpayer_id,
                "sub_number": device.sub_number,
                "taxpayer_nature": "01" if demo.client.taxpayer_kind == "general" else "08",
                "zxbsrq": (device.monitoring or {})["zxbsrq"],  # seeded above for every device
                "kpjzsj": (device.monitoring or {})["kpjzsj"],
                "present": device.present,
            }
            if demo.late_lock:
                spec["lock_days_after_deadline"] = LATE_LOCK_DAYS
            spec.update(FAULT_SPECS.get(demo.fault or "", {}))
            specs.append(spec)
        if demo.fault == "unfiled_at_bureau":
            unfiled[demo.client.taxpayer_id] = [format_month(acting)]
    deadlines = {}
    for n in range(-HISTORY_MONTHS, 4):
        month = add_months(_month_of(now), n)
        deadlines[format_month(month)] = deadline_for(month).date.isoformat()
    path = cabinet_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        yaml.safe_dump(
            {
                "deadlines": deadlines,
                "bureau": {"returns_filed_by_default": True, "unfiled": unfiled},
                "devices": specs,
            },
            allow_unicode=True,
            sort_keys=False,
        ),
        encoding="utf-8",
    )
