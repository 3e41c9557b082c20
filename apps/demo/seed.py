"""Demo data: a bookkeeping firm of about 120 clients with two years of history, as it stands at
the demo's moment (apps/core/clock.py), and the simulated cabinet that holds their devices.

One history decides both. history() says, for one client at one moment, when each step of each
period happened (Plan) and what its devices read now (zxbsrq, kpjzsj, the counts); the Period
rows, the Device rows and the cabinet's device specs are all written from it, so the site and
the cabinet cannot disagree, and nothing is dated after the moment.

The history of a period is fixed, whatever the moment it is looked at from: most clients do
their steps at their own pace by the deadline; after each deadline a few stragglers of every
kind (stragglers()) finish late, each on a day of its own, and the late-lock ones always before
their devices lock (LATE_LOCK_DAYS); the `locked` stragglers lock the day after the deadline
until the bureau unlocks them and they clear. The demo's faults (FAULTS) are the one thing set
relative to the moment: they hold up the period being worked on, never long enough to lock a
device, except `lock_passed`, whose device is locked at every moment (last period not cleared).
So at any moment the devices locked are exactly locked_clients(): the lock_passed client and
the locked stragglers not yet unlocked.

Where the demo's moment falls decides what the working period looks like: in the first days of
the month most clients are 待抄报 (some client software did it at 00:05), before the deadline a
mix, on the deadline day the last-day filers, after it last period mostly done with its
stragglers and the next period waiting for its window."""

import calendar
import datetime as dt
import random
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.autopilot.models import Autopilot
from apps.clients.identifiers import credit_check_character, org_code_check_character
from apps.clients.models import Client
from apps.core import clock
from apps.core.months import add_months, format_month, month_start
from apps.devices.models import DEFAULT_PASSWORDS, Agent, Device, DeviceKind
from apps.devices.rules import DeviceCycleState, device_cycle_state
from apps.filing_calendar.models import period_deadlines
from apps.periods.models import Period
from apps.periods.rules import SHANGHAI, acting_month_for, return_due, window_opens, working_month_for

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
HOLDS_UP_SUMMARY = ("wrong_password", "unplugged", "offline_invoices")  # faults that stop 抄报
# After each deadline: this many clients of each kind still have the period open. The first three
# kinds are on devices that lock late and finish within LATE_LOCK_DAYS; `locked` ones lock.
STRAGGLERS = {"clear_due": 8, "return_overdue": 9, "summary_due": 5, "locked": 4}
STRAGGLERS_NOT_LOCKED = ("clear_due", "return_overdue", "summary_due")  # their devices lock later
SUB_DEVICE_EVERY = 15  # every 15th client has a main and a sub device
DEMO_PACE = 300  # the autopilot's jobs per agent per minute in the demo
LOCKED_AND_UNLOCKED = 41  # the client whose device locked once, months ago, and was unlocked by the bureau
INVOICE_TYPES = ("004", "007", "026")  # what the simulated devices issue (the driver's default)
TYPE_STATES = {  # the site's device state as the per-invoice-type state a device reports
    DeviceCycleState.SUMMARY_DUE: 1,
    DeviceCycleState.CLEAR_DUE: 2,
    DeviceCycleState.DONE: 3,
    DeviceCycleState.LOCKED: 4,
}


def demo_credit_code(n: int) -> str:
    body = f"MA{n:06X}".replace("I", "J").replace("O", "P")
    first17 = "91320100" + body + org_code_check_character(body)
    return first17 + credit_check_character(first17)


@dataclass(frozen=True)
class Plan:
    """When one client does each step of one period (None: not done by now)."""

    summary: dt.datetime | None = None
    filed: dt.date | None = None
    cleared: dt.datetime | None = None


@dataclass
class History:
    """One client's history as it stands at a moment, and what its devices read then."""

    plans: dict[dt.date, Plan]  # the periods the firm has rows for
    zxbsrq: dt.date  # its latest 抄报
    kpjzsj: dt.date  # the lock date its latest 清卡 gave it
    summaries: int  # how many 抄报 and 清卡 the devices did over the seeded history
    clears: int


@dataclass
class DemoClient:
    n: int
    name: str
    speed: float  # 0: does everything first thing, 1: files on the last day
    fault: str | None
    late_lock: bool  # its devices lock LATE_LOCK_DAYS after the deadline
    client: Client | None = None
    history: History | None = None
    devices: list[Device] = field(default_factory=list)

    @property
    def taxpayer_kind(self) -> str:
        return "small_scale" if self.n % 3 == 0 else "general"


@dataclass(frozen=True)
class Moment:
    """The firm's calendar at `now`: the deadline of every period it may look at, the working and
    acting periods (apps/periods/models.py working_month, acting_month) and its period rows."""

    now: dt.datetime
    today: dt.date
    due: dict[dt.date, dt.date]  # period month: its deadline
    working: dt.date
    acting: dt.date
    months: tuple[dt.date, ...]

    @classmethod
    def at(cls, now: dt.datetime) -> "Moment":
        today = timezone.localdate(now, SHANGHAI)
        this = month_start(today)
        span = [add_months(this, n) for n in range(-HISTORY_MONTHS - 2, 5)]
        due = {month: deadline.date for month, deadline in period_deadlines(span).items()}
        working = working_month_for(today, due[add_months(this, -1)])
        history = [add_months(working, -n) for n in range(1, HISTORY_MONTHS)]
        months = ([working] if now >= window_opens(working) else []) + history
        return cls(now, today, due, working, acting_month_for(working, now), tuple(months))


def seed(clients: int = 120, now: dt.datetime | None = None, cabinet: bool | Path = True) -> dict[str, User]:
    """The firm as it stands at `now` (the demo's clock). Idempotent: a second run for the same
    firm changes nothing. Writes the cabinet that matches it to cabinet_path(), or to `cabinet`
    when that is a path, or nowhere when it is False."""
    now = now or clock.now()
    with transaction.atomic():
        staff = _staff()
        if not Client.objects.filter(taxpayer_id=demo_credit_code(1)).exists():
            moment = Moment.at(now)
            firm = _firm(clients, staff, moment)
            if cabinet is not False:
                write_cabinet(firm, moment, cabinet_path() if cabinet is True else Path(cabinet))
            # the demo runs its month by itself; a simulated cabinet takes a quicker pace than the default
            Autopilot.objects.update_or_create(pk=1, defaults={"enabled": True, "per_agent_per_minute": DEMO_PACE})
    return staff


def cabinet_path() -> Path:
    return settings.VAR_DIR / "demo" / "cabinet.yaml"


@lru_cache(maxsize=4)
def _password_hash(hashers: tuple[str, ...]) -> str:
    """One hash of the demo password, made once per process: hashing it per user per seed cost
    more than the rest of the seed."""
    return make_password(DEMO_PASSWORD)


def _staff() -> dict[str, User]:
    staff = {user.username: user for user in User.objects.filter(username__in=[s[0] for s in STAFF])}
    missing = [
        User(
            username=username,
            role=role,
            display_name=name,
            is_staff=role == User.Role.ADMIN,
            is_superuser=role == User.Role.ADMIN,
            password=_password_hash(tuple(settings.PASSWORD_HASHERS)),
        )
        for username, role, name in STAFF
        if username not in staff
    ]
    for user in User.objects.bulk_create(missing):
        staff[user.username] = user
    return {username: staff[username] for username, _role, _name in STAFF}


def demo_clients(count: int) -> list[DemoClient]:
    """The firm's clients, the same at every moment."""
    rng = random.Random(7)
    firm = []
    for n in range(1, count + 1):
        fault = FAULTS.get(n, (None, ""))[0]
        name = f"南京{rng.choice(COMPANY_WORDS)}{rng.choice(TRADES)}有限公司（演示{n:03d}）"
        firm.append(DemoClient(n=n, name=name, speed=rng.random(), fault=fault, late_lock=_locks_late(n, fault)))
    return firm


def _locks_late(n: int, fault: str | None) -> bool:
    """Two clients in three have devices that lock LATE_LOCK_DAYS after the deadline; so do the
    faults that hold a period up, so that they never lock it."""
    if fault or n == LOCKED_AND_UNLOCKED:
        return fault in LOCK_LATE_FAULTS
    return n % 3 != 1


@lru_cache(maxsize=512)
def stragglers(month: dt.date, deadline: dt.date, count: int) -> dict[int, tuple[str, int]]:
    """Who finishes period `month` after its deadline: demo number → (kind, how many days after
    the deadline the period is done). The same for the period whatever the moment. Late-lock
    clients take the kinds that do not lock, on-time ones `locked`."""
    rng = random.Random(f"stragglers:{month}")
    free = [n for n in range(1, count + 1) if n not in FAULTS and n != LOCKED_AND_UNLOCKED]
    pools = {True: [n for n in free if _locks_late(n, None)], False: [n for n in free if not _locks_late(n, None)]}
    for pool in pools.values():
        rng.shuffle(pool)
    chosen: dict[int, tuple[str, int]] = {}
    for kind, how_many in STRAGGLERS.items():
        pool = pools[kind != "locked"]
        picked, pool[:] = pool[:how_many], pool[how_many:]
        for i, n in enumerate(picked):
            # spread over the days before it would lock (late-lock) or before the month ends: every
            # kind is still there a week after the deadline, and none is left for the next period
            chosen[n] = (kind, 1 + round(i * (_days_to_finish(deadline, kind) - 1) / max(1, len(picked) - 1)))
    return chosen


def _days_to_finish(deadline: dt.date, kind: str) -> int:
    """How many days after the deadline a straggler may take: before the month ends (the next
    period's 抄报 opens on the 1st), and for a late-lock device before it locks."""
    return max(1, ((_last_day(deadline) if kind == "locked" else lock_date(deadline, True)) - deadline).days)


def _last_day(day: dt.date) -> dt.date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def locked_clients(moment: "Moment", count: int) -> dict[int, str]:
    """The clients whose devices the history has locked at the moment, and why."""
    locked = {n: "lock_passed" for n, (fault, _note) in FAULTS.items() if fault == "lock_passed" and n <= count}
    for month in moment.months:
        deadline = moment.due[month]
        for n, (kind, days) in stragglers(month, deadline, count).items():
            if kind == "locked" and deadline < moment.today and moment.now < _at(deadline, days, 15):
                locked[n] = f"locked straggler of {format_month(month)}"
    return locked


def history(demo: DemoClient, moment: Moment, count: int) -> History:
    """What this client did of every period by the moment, and what its devices read then: the
    one place the Period rows, the Device rows and the cabinet come from."""
    plans, summaries, clears = {}, [], []
    last_cleared = None
    for month in sorted(moment.months):
        planned = _plan(demo, month, moment, count)
        plan = _as_of(planned, moment.now)
        plans[month] = plan
        if plan.summary:
            summaries.append(plan.summary)
        if plan.cleared:
            clears.append(plan.cleared)
            last_cleared = month
    zxbsrq = timezone.localdate(max(summaries), SHANGHAI) if summaries else add_months(month_start(moment.today), -1)
    if last_cleared is None:  # a history too short to have a clear: locked at the last deadline
        last_cleared = add_months(month_start(moment.today), -3)
    kpjzsj = lock_date(moment.due[add_months(last_cleared, 1)], demo.late_lock)
    return History(plans, zxbsrq, kpjzsj, len(summaries), len(clears))


def lock_date(deadline: dt.date, late_lock: bool) -> dt.date:
    """A device's kpjzsj after clearing the period due on `deadline`: that deadline, or for a
    late-lock device LATE_LOCK_DAYS later but within the deadline's month (as the simulated
    driver's lock_days_after_deadline)."""
    return min(deadline + dt.timedelta(days=LATE_LOCK_DAYS), _last_day(deadline)) if late_lock else deadline


def _as_of(plan: Plan, now: dt.datetime) -> Plan:
    """The plan as far as it happened by `now`: each step only after the one before it."""
    summary = plan.summary if plan.summary and plan.summary <= now else None
    filed = plan.filed if summary and plan.filed and _at(plan.filed, 0, 9) <= now else None
    cleared = plan.cleared if summary and plan.cleared and plan.cleared <= now else None
    return Plan(summary, filed, cleared)


def _plan(demo: DemoClient, month: dt.date, moment: Moment, count: int) -> Plan:
    """When this client does each step of `month` (not yet cut at the moment): at its own pace by
    the deadline, late as a straggler of the period, or held up by its fault."""
    opens = window_opens(month)
    deadline = moment.due[month]
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
    filed = max(filed, timezone.localdate(summary, SHANGHAI))
    cleared = _at(filed, 0, 16 if filed == deadline else 11)
    late = rng.random() < 0.03
    if demo.fault == "lock_passed":
        return _lock_passed(summary, filed, cleared, month, moment)
    if demo.n == LOCKED_AND_UNLOCKED and month == add_months(moment.working, -7):
        # locked, unlocked by the bureau, cleared late (before the next period's work begins)
        days = min(12, (_last_day(deadline) - deadline).days)
        return Plan(summary, deadline + dt.timedelta(days=max(1, days - 3)), _at(deadline, days, 15))
    if demo.fault and month == _held_up(moment):
        if demo.fault in HOLDS_UP_SUMMARY:
            return Plan()
        if demo.fault == "unfiled_at_bureau":
            return Plan(summary, filed, None)
    straggling = stragglers(month, deadline, count).get(demo.n)
    if straggling:
        kind, days = straggling
        finish = deadline + dt.timedelta(days=days)
        if kind == "clear_due":
            return Plan(summary, filed, _at(finish, 0, 15))
        if kind == "return_overdue":
            return Plan(summary, finish, _at(finish, 0, 15))
        if kind == "summary_due":
            return Plan(_at(finish, 0, 10), finish, _at(finish, 0, 16))
        return Plan(summary, deadline + dt.timedelta(days=(days + 1) // 2), _at(finish, 0, 15))  # locked
    if late and demo.late_lock:  # now and then a return filed a day or two late on a device that locks later
        filed = deadline + dt.timedelta(days=rng.randint(1, 2))
        cleared = _at(filed, 0, 15)
    return Plan(summary, filed, cleared)


def _held_up(moment: Moment) -> dt.date | None:
    """The period the faults hold up at the moment: the one being acted on, until its late-lock
    devices would lock (the fault came after it was done, then)."""
    return moment.acting if moment.today <= lock_date(moment.due[moment.acting], True) else None


def _lock_passed(summary: dt.datetime, filed: dt.date, cleared: dt.datetime, month: dt.date, moment: Moment) -> Plan:
    """上期未清卡: the latest period whose deadline has passed was summarised and never cleared,
    nothing was done since; everything before it in its time."""
    stuck = max(m for m, deadline in moment.due.items() if deadline < moment.today)
    if month < stuck:
        return Plan(summary, filed, cleared)
    return Plan(summary) if month == stuck else Plan()


def _at(day: dt.date, days_later: int, hour: int) -> dt.datetime:
    return dt.datetime.combine(day + dt.timedelta(days=days_later), dt.time(hour), SHANGHAI)


def _firm(count: int, staff: dict[str, User], moment: Moment) -> list[DemoClient]:
    accountants = [user for user in staff.values() if user.role == User.Role.ACCOUNTANT]
    agent = _agent(moment.now)
    firm = demo_clients(count)
    rows = [
        Client(
            taxpayer_id=demo_credit_code(demo.n),  # already in its normal form (Client.save is skipped)
            name=demo.name,
            taxpayer_kind=demo.taxpayer_kind,
            staff=accountants[demo.n % len(accountants)],
            contact_name="财务",
            notes=_notes(demo.n),
        )
        for demo in firm
    ]
    for demo, client in zip(firm, Client.objects.bulk_create(rows), strict=True):
        demo.client = client
    periods, devices = [], []
    for demo in firm:
        assert demo.client is not None
        demo.history = history(demo, moment, count)
        frequency = demo.client.filing_frequency
        for month, plan in demo.history.plans.items():
            filed = plan.filed if return_due(frequency, month) else None
            periods.append((demo.client.pk, month, moment.due[month], plan.summary, filed, plan.cleared))
        demo.devices = _devices(demo, agent, moment)
        devices += demo.devices
    _insert_periods(periods, moment.now)
    Device.objects.bulk_create(devices)
    return firm


PERIOD_COLUMNS = ("client_id", "month", "deadline", "summary_uploaded_at", "return_filed_on", "cleared_at")


def _insert_periods(rows: list[tuple], now: dt.datetime) -> None:
    """Inserts the Period rows (PERIOD_COLUMNS, then created and updated at `now`) in one INSERT …
    SELECT FROM unnest(…) (the site runs on PostgreSQL only): bulk_create spent most of a seed
    preparing 2,760 rows' values one by one."""
    table = connection.ops.quote_name(Period._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(c) for c in (*PERIOD_COLUMNS, "created_at", "updated_at"))
    key = Client._meta.pk.db_type(connection)
    types = (key, "date", "date", "timestamptz", "date", "timestamptz", "timestamptz", "timestamptz")
    arrays = ", ".join(f"%s::{kind}[]" for kind in types)
    params = [list(column) for column in zip(*[(*row, now, now) for row in rows], strict=True)]
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} ({columns}) SELECT * FROM unnest({arrays})", params)


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


def device_kind(demo: DemoClient) -> str:
    return DeviceKind.GOLDEN_TAX_DISK if demo.fault == "offline_invoices" else KINDS[demo.n % len(KINDS)]


def monitoring(history: History, today: dt.date) -> dict:
    """The lock facts a device of this history reports, per invoice type too."""
    zxbsrq, kpjzsj = history.zxbsrq.isoformat(), history.kpjzsj.isoformat()
    state = TYPE_STATES[device_cycle_state(today, history.zxbsrq, history.kpjzsj)]
    return {
        "zxbsrq": zxbsrq,
        "kpjzsj": kpjzsj,
        "summary_count": history.summaries,
        "clear_count": history.clears,
        "invoice_types": {code: {"state": state, "kpjzsj": kpjzsj, "zxbsrq": zxbsrq} for code in INVOICE_TYPES},
    }


def _devices(demo: DemoClient, agent: Agent, moment: Moment) -> list[Device]:
    """Its devices, as the cabinet last reported them at the moment (history())."""
    assert demo.history is not None
    reading = {
        **monitoring(demo.history, moment.today),
        "clock": moment.now.astimezone(SHANGHAI).isoformat(timespec="seconds"),
        "simulated": True,
    }
    kind = device_kind(demo)
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
            last_seen_at=moment.now,
            monitoring={**reading, "device_number": number, "kind": str(kind), "sub_number": sub},
            monitored_at=moment.now,
            lock_date=demo.history.kpjzsj,
            # bulk_create skips Device.save(), which fills in the kind's default passwords
            certificate_password=DEFAULT_PASSWORDS[kind][0],
            device_password=DEFAULT_PASSWORDS[kind][1],
        )
        for sub, number in enumerate(numbers)
    ]


FAULT_SPECS: dict[str, dict] = {  # the simulated device's settings that make each demo fault
    "wrong_password": {"certificate_password": "87654321"},
    "flaky_line": {"transfer_failures": 2},
    "offline_invoices": {"offline_invoices_pending": True},
}


def cabinet(firm: list[DemoClient], moment: Moment) -> dict:
    """The simulated cabinet of every demo device, in the state history() says, with the faults."""
    specs, unfiled = [], {}
    held_up = _held_up(moment)
    for demo in firm:
        assert demo.history is not None
        taxpayer_id = demo_credit_code(demo.n)
        numbers = [f"66{demo.n:010d}"] + ([f"67{demo.n:010d}"] if demo.n % SUB_DEVICE_EVERY == 0 else [])
        for sub, number in enumerate(numbers):
            spec = {
                "device_number": number,
                "kind": str(device_kind(demo)),
                "slot": f"sim-{demo.n}-{sub}",
                "taxpayer_id": taxpayer_id,
                "sub_number": sub,
                "taxpayer_nature": "01" if demo.taxpayer_kind == "general" else "08",
                "zxbsrq": demo.history.zxbsrq.isoformat(),
                "kpjzsj": demo.history.kpjzsj.isoformat(),
                "summary_count": demo.history.summaries,
                "clear_count": demo.history.clears,
                "invoice_types": list(INVOICE_TYPES),
                "present": demo.fault != "unplugged",
            }
            if demo.late_lock:
                spec["lock_days_after_deadline"] = LATE_LOCK_DAYS
            spec.update(FAULT_SPECS.get(demo.fault or "", {}))
            specs.append(spec)
        if demo.fault == "unfiled_at_bureau" and held_up:
            unfiled[taxpayer_id] = [format_month(held_up)]
    this = month_start(moment.today)
    deadlines = {  # by the month each deadline falls in
        format_month(add_months(this, n)): moment.due[add_months(this, n - 1)].isoformat()
        for n in range(-HISTORY_MONTHS, 4)
    }
    return {
        "deadlines": deadlines,
        "bureau": {"returns_filed_by_default": True, "unfiled": unfiled},
        "devices": specs,
    }


def write_cabinet(firm: list[DemoClient], moment: Moment, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml when there
    text = yaml.dump(cabinet(firm, moment), Dumper=dumper, allow_unicode=True, sort_keys=False)
    path.write_text(text, encoding="utf-8")
