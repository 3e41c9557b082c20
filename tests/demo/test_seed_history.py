"""The demo is one history: seeded at any moment of the year, the site's periods, its devices and
the simulated cabinet (read through the agent's own driver) tell the same story, the only locked
devices are the ones the demo locks on purpose, and nothing is dated after the moment.

Moments (tests/walk/test_year_walk.py runs check_moment at each): every day from 25 Nov 2026 to
10 Mar 2027 (across the 2027 Spring Festival), and in every month of a year the 1st at 00:04 and
00:05, the deadline day, the day after it, and the last day. Deadlines come from the filing
calendar (period_deadline / deadline_for), never hard-coded, so the checks hold when a year's
table changes.

"Locked on purpose" (seed.locked_clients): the `lock_passed` fault's client at every moment,
and a `locked` straggler of a period P from the day after P's deadline until the bureau unlocks
it and it clears. The late-lock rule adds nothing: a late-lock straggler of P (and a fault
holding P up) finishes P within LATE_LOCK_DAYS after P's deadline and before P+1's 抄报 opens,
so no other device is ever past its kpjzsj."""

import calendar
import datetime as dt
import functools
import sys
from pathlib import Path

import pytest
import yaml
from django.utils import timezone

from apps.clients.models import Client
from apps.core.months import add_months, format_month, month_start
from apps.demo import seed as demo
from apps.devices.models import Device
from apps.devices.rules import DeviceCycleState, device_cycle_state, shows_cleared, shows_summarised
from apps.filing_calendar.models import deadline_for, period_deadline
from apps.periods.models import Period
from apps.periods.queries import clients_for_month
from apps.periods.rules import SHANGHAI, PeriodStatus

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "agent"))  # the agent package, no Django

from qingka_agent.drivers import simulated  # noqa: E402
from qingka_agent.drivers.base import DeviceError, Secrets  # noqa: E402

CLIENTS = 120
LOCK_PASSED = next(n for n, (fault, _note) in demo.FAULTS.items() if fault == "lock_passed")
MOST_LOCKED = 5  # the lock_passed client and one period's `locked` stragglers
TYPE_STATE = {1: DeviceCycleState.SUMMARY_DUE, 2: DeviceCycleState.CLEAR_DUE, 3: DeviceCycleState.DONE, 4: "locked"}

WINTER = (dt.date(2026, 11, 25), dt.date(2027, 3, 10))
DAYS = [WINTER[0] + dt.timedelta(days=n) for n in range((WINTER[1] - WINTER[0]).days + 1)]
MONTHS = [dt.date(2026, 4, 1), *(add_months(dt.date(2026, 4, 1), n) for n in range(1, 12))]
POINTS = ("first_0004", "first_0005", "deadline", "day_after", "last_day")


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), SHANGHAI)


def last_day(day: dt.date) -> dt.date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def month_moment(month: dt.date, point: str) -> dt.datetime:
    """A moment of `month` named by `point`; the deadline falling in it from the calendar."""
    deadline = deadline_for(month).date
    return {
        "first_0004": at(month, 0, 4),
        "first_0005": at(month, 0, 5),
        "deadline": at(deadline, 17, 30),
        "day_after": at(deadline + dt.timedelta(days=1), 0, 30),
        "last_day": at(last_day(month), 23, 50),
    }[point]


def check_moment(now: dt.datetime, settings, tmp_path: Path) -> dict:
    """Seeds the demo firm at `now` and checks it is one history; returns its staff. The year walk
    (tests/walk/test_year_walk.py) runs it at each of its moments before it opens the pages."""
    settings.VAR_DIR = tmp_path
    staff = demo.seed(clients=CLIENTS, now=now)
    today = timezone.localdate(now, SHANGHAI)
    cabinet = yaml.load(demo.cabinet_path().read_text(encoding="utf-8"), Loader=simulated._Loader)
    specs = {spec["device_number"]: spec for spec in cabinet["devices"]}
    numbers = {demo.demo_credit_code(n): n for n in range(1, CLIENTS + 1)}
    devices = list(Device.objects.select_related("client"))
    periods: dict[int, list[Period]] = {}
    for period in Period.objects.with_status(now).select_related("client").order_by("month"):
        periods.setdefault(period.client_id, []).append(period)

    # (c) nothing is dated after the moment, and each step comes after the one it needs
    for rows in periods.values():
        for p in rows:
            assert p.summary_uploaded_at is None or p.summary_uploaded_at <= now, p
            assert p.return_filed_on is None or p.return_filed_on <= today, p
            assert p.cleared_at is None or p.cleared_at <= now, p
            assert p.cleared_at is None or p.summary_uploaded_at is not None, p
            if p.return_required and p.cleared_at:
                assert p.return_filed_on is not None and p.return_filed_on <= timezone.localdate(p.cleared_at), p
    assert all(d.monitored_at <= now and d.last_seen_at <= now for d in devices)

    # (a) the locked devices and periods are the ones the demo locks on purpose, and only those
    locked = {numbers[d.client.taxpayer_id] for d in devices if d.lock_state(today)}
    assert LOCK_PASSED in locked, now
    assert len(locked) <= MOST_LOCKED, (now, sorted(locked))
    assert locked == set(demo.locked_clients(demo.Moment.at(now), CLIENTS)), now
    for rows in periods.values():
        n = numbers[rows[0].client.taxpayer_id]
        for p in rows:
            assert not p.lock_estimated, p
            if n in locked and p.cleared_at is None:
                assert p.status_code == PeriodStatus.LOCKED, (now, p)
            else:
                assert p.status_code != PeriodStatus.LOCKED, (now, p, p.status_code)

    # so does every month's page (a client without a row for the month counts as one with nothing done)
    moment = demo.Moment.at(now)
    for month in {moment.working, moment.acting, add_months(moment.working, 1)}:
        shown = {numbers[c.taxpayer_id] for c in clients_for_month(None, month, now) if c.status_code == "locked"}
        assert shown <= locked, (now, month, sorted(shown - locked))

    # (b) the cabinet says what the site's rows say, and both follow from the periods' history
    assert len(specs) == len(devices)
    deadline_of = functools.cache(lambda period_month: period_deadline(period_month).date)  # a query each
    for d in devices:
        spec, rows = specs[d.number], periods[d.client_id]
        assert (spec["zxbsrq"], spec["kpjzsj"]) == (d.monitoring["zxbsrq"], d.monitoring["kpjzsj"]), d
        assert spec["kpjzsj"] == d.lock_date.isoformat()
        assert spec["present"] == d.present
        summarised = [p for p in rows if p.summary_uploaded_at]
        cleared = [p for p in rows if p.cleared_at]
        zxbsrq, kpjzsj = dt.date.fromisoformat(spec["zxbsrq"]), d.lock_date
        assert zxbsrq == max(timezone.localdate(p.summary_uploaded_at, SHANGHAI) for p in summarised), d
        due = deadline_of(add_months(cleared[-1].month, 1))
        if spec.get("lock_days_after_deadline"):  # later, within the deadline's month
            due = min(due + dt.timedelta(days=spec["lock_days_after_deadline"]), last_day(due))
        assert kpjzsj == due, d
        for p in rows:  # the device's dates say which periods are summarised and cleared
            assert shows_summarised(p.month, zxbsrq) == (p.summary_uploaded_at is not None), (now, d, p)
            assert shows_cleared(p.month, kpjzsj) == (p.cleared_at is not None), (now, d, p)
        assert (spec.get("summary_count"), spec.get("clear_count")) == (len(summarised), len(cleared)), d
    this = month_start(today)
    for n in range(-demo.HISTORY_MONTHS, 3):
        month = add_months(this, n)
        assert cabinet["deadlines"][format_month(month)] == deadline_for(month).date.isoformat()

    # the agent's simulated driver, loaded with that cabinet, reads each device as the site does
    driver = simulated.SimulatedDriver(demo.cabinet_path(), tmp_path / "agent", clock=lambda: now)
    snapshot = functools.cache(lambda: {row["monitoring"]["device_number"]: row for row in driver.snapshot()})
    for d in devices:
        try:
            read = driver.read_status(d.number, Secrets(d.certificate_password, d.device_password))
        except DeviceError as exc:  # the wrong-password and unplugged faults
            read = exc.monitoring or snapshot()[d.number]["monitoring"]
        assert (read["zxbsrq"], read["kpjzsj"]) == (d.monitoring["zxbsrq"], d.monitoring["kpjzsj"]), d
        states = {entry["state"] for entry in read["invoice_types"].values()}
        assert len(states) == 1
        state = TYPE_STATE[states.pop()]
        site = device_cycle_state(today, d.monitoring_date("zxbsrq"), d.lock_date)
        assert (state == "locked") == bool(d.lock_state(today)), (now, d, state)
        assert state == "locked" or state == site, (now, d, state, site)
        assert read["invoice_types"] == d.monitoring["invoice_types"], d
        counts = (d.monitoring["summary_count"], d.monitoring["clear_count"])
        assert (read["summary_count"], read["clear_count"]) == counts, d
    return staff


@pytest.mark.django_db
def test_a_seed_is_quick_and_can_leave_the_cabinet_unwritten(settings, tmp_path, django_assert_max_num_queries):
    """Quick by the work it does, not by a clock: a few bulk statements whatever the number of
    clients and months (16 today), never a statement per row."""
    settings.VAR_DIR = tmp_path
    with django_assert_max_num_queries(20):
        demo.seed(now=at(dt.date(2026, 12, 16), 8), cabinet=False)
    assert Client.objects.count() == CLIENTS and not demo.cabinet_path().exists()
