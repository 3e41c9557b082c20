"""An autopilot that explains itself: every pass records, in counts, the jobs it made, those it made
to start later (busy hours, the rate), and each client or device it gave nothing, with the reason,
in the transaction that makes its jobs; idle passes alike share a record, and the records are
bounded. The page says it in Chinese, with what comes next; it never repeats a success, and says so."""

import datetime as dt
import re
from collections import Counter
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.autopilot import cycle
from apps.autopilot.models import Autopilot, Deferral, Exclusion, PassRecord, Skip
from apps.clients.models import InvoicingMode
from apps.clients.modes import set_invoicing_mode
from apps.devices.models import Health
from apps.holds.models import Hold, HoldReason
from apps.jobs.models import Job, JobKind, JobState, Origin
from apps.periods.models import Period
from apps.periods.rules import SHANGHAI, PeriodStatus
from tests.factories import autopilot_on_with_agent, make_agent, make_client, make_device

pytestmark = pytest.mark.django_db
NOV = dt.date(2026, 11, 1)  # due 2026-12-15; its window opens 2026-12-01 00:05


def at(day, hour, minute=0, second=0, month=12):
    return dt.datetime(2026, month, day, hour, minute, second, tzinfo=SHANGHAI)


@pytest.fixture
def agent():
    return autopilot_on_with_agent(avoid_busy_hours=True)


def with_device(cabinet, period=None, **device):
    """A client with one device (read today already: no daily read due) and, if given, its November."""
    client = make_client()
    device.setdefault("agent", cabinet)
    device.setdefault("present", True)
    device.setdefault("lock_date", dt.date(2026, 12, 15))
    made = make_device(client, monitored_at=at(3, 0), **device)
    if period is not None:
        Period.objects.create(client=client, month=NOV, deadline=dt.date(2026, 12, 15), **period)
    return made


def run(moment):
    with time_machine.travel(moment, tick=False):
        return cycle.run_pass(moment, Autopilot.current())


def latest():
    return PassRecord.objects.first()


def test_each_reason_is_counted_once_for_what_it_held_back(agent, caplog):
    with_device(agent)  # 待抄报: made
    Exclusion.objects.create(client=with_device(agent).client, reason="客户自行处理")
    set_invoicing_mode(with_device(agent).client, InvoicingMode.DIGITAL, NOV)
    make_client()  # no device
    with_device(agent, {"summary_uploaded_at": at(1, 1), "cleared_at": at(2, 9)})  # 已完成
    with_device(agent, {"summary_uploaded_at": at(1, 1)})  # 待申报
    locked = with_device(agent, lock_date=dt.date(2026, 12, 2))
    reconcile = {"summary_uploaded_at": at(1, 1), "return_filed_on": dt.date(2026, 12, 2)}
    with_device(agent, {**reconcile, "declared_sales": Decimal("999999.00")})  # 没有抄报汇总可比对
    Job.objects.create(kind=JobKind.READ_STATUS, device=with_device(agent), state=JobState.RUNNING, attempts=1)
    failed = with_device(agent, {})
    Job.objects.create(
        kind=JobKind.UPLOAD_SUMMARY,
        device=failed,
        period=Period.objects.get(client=failed.client),
        state=JobState.FAILED,
        error_code="NOT_REGISTERED",
        finished_at=at(2, 9),
        origin=Origin.AUTOPILOT,
    )
    Period.objects.filter(client=failed.client).update(updated_at=at(2, 8))
    stuck = with_device(agent, {})  # its 抄报 succeeded, yet the period still says 待抄报
    Job.objects.create(
        kind=JobKind.UPLOAD_SUMMARY,
        device=stuck,
        period=Period.objects.get(client=stuck.client),
        state=JobState.SUCCEEDED,
        finished_at=at(1, 1),
    )
    Hold.objects.create(device=with_device(agent), reason=HoldReason.PASSWORD)
    offline, _token = make_agent("二号机柜")  # never heard: offline
    with_device(agent, agent=offline)
    with_device(agent, present=False)
    with_device(agent, health=Health.BAD)
    with caplog.at_level("WARNING", logger="apps.autopilot.cycle"):
        made = run(at(3, 8))
    assert Period.objects.get(client=locked.client).status(at(3, 8)) == PeriodStatus.LOCKED
    assert made[JobKind.UPLOAD_SUMMARY] == 1 and sum(made.values()) == 1
    record = latest()
    assert record.made == {JobKind.UPLOAD_SUMMARY: 1}
    assert record.skipped == {str(skip): 1 for skip in Skip if skip not in (Skip.NOT_OPEN, Skip.LAST_HOUR)}  # next test
    # the work due that got nothing and is not under way (not the busy one's, nor a period's step)
    assert record.waiting == {JobKind.UPLOAD_SUMMARY: 6}
    assert record.deferred == {}
    assert f"on device {stuck.pk} already succeeded" in caplog.text
    assert Job.objects.filter(device=stuck).count() == 1


def test_before_the_window_every_device_waits_for_it_and_the_last_hour_is_kept():
    Autopilot.objects.update_or_create(pk=1, defaults={"enabled": True})
    made, _token = make_agent()
    made.online = True
    made.save()
    for _ in range(2):
        make_device(make_client(), agent=made, present=True, lock_date=dt.date(2026, 12, 1), monitored_at=at(1, 0, 1))
    assert sum(run(at(1, 0, 4)).values()) == 0
    assert (latest().skipped, latest().waiting) == ({Skip.NOT_OPEN: 2}, {})
    assert sum(run(at(1, 23, 30)).values()) == 0  # the devices lock at midnight
    assert (latest().skipped, latest().waiting) == ({Skip.LAST_HOUR: 2}, {JobKind.UPLOAD_SUMMARY: 2})


def test_jobs_made_to_start_later_say_why(agent):
    for _ in range(3):
        with_device(agent)
    run(at(2, 10, 30))  # inside 9–11: every job moved to 11:00 and on
    assert latest().made == {JobKind.UPLOAD_SUMMARY: 3} and latest().deferred == {Deferral.PEAK: 3}
    Job.objects.all().delete()
    Autopilot.objects.update(per_agent_per_minute=1)
    run(at(2, 8))  # 08:00, 08:01, 08:02: two start after the next pass (08:01)
    assert latest().deferred == {Deferral.RATE: 2}


def test_the_autopilot_never_repeats_a_success_even_when_the_period_is_stuck(agent, caplog):
    """A 清卡 succeeded on the only device, yet the period never heard of it (a status stuck at
    待清卡): no second 清卡, pass after pass, and each pass says so."""
    device = with_device(agent, {"summary_uploaded_at": at(1, 1), "return_filed_on": dt.date(2026, 12, 2)})
    period = Period.objects.get(client=device.client)
    Job.objects.create(kind=JobKind.CLEAR, device=device, period=period, state=JobState.SUCCEEDED, finished_at=at(3, 7))
    for hour in (8, 9, 10):
        assert period.status(at(3, hour)) == PeriodStatus.CLEAR_DUE
        with caplog.at_level("WARNING", logger="apps.autopilot.cycle"):
            assert sum(run(at(3, hour)).values()) == 0
    assert Job.objects.filter(device=device).count() == 1
    assert caplog.text.count("already succeeded") == 3
    assert (latest().skipped, latest().waiting, latest().passes) == ({Skip.REPEAT: 1}, {JobKind.CLEAR: 1}, 3)


def test_idle_passes_alike_share_a_record_and_the_records_are_bounded(agent, monkeypatch):
    with_device(agent, present=False)
    for minute in (0, 1, 2):
        run(at(3, 8, minute))
    assert PassRecord.objects.count() == 1
    assert (latest().started_at, latest().last_at, latest().passes) == (at(3, 8), at(3, 8, 2), 3)
    with_device(agent)
    run(at(3, 8, 3))  # made a job: a record of its own
    run(at(3, 8, 4))  # idle again, the new one busy: another outcome
    assert [r.passes for r in PassRecord.objects.all()] == [1, 1, 3]
    monkeypatch.setattr(PassRecord, "KEPT", 2)
    cycle.record(cycle.Outcome(made=Counter({JobKind.CLEAR: 1})), at(3, 9))
    assert [r.last_at for r in PassRecord.objects.all()] == [at(3, 9), at(3, 8, 4)]


def test_the_record_is_written_with_the_jobs_or_not_at_all(agent, monkeypatch):
    with_device(agent)

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(cycle, "record", broken)
    with pytest.raises(RuntimeError):
        run(at(3, 8))
    assert not Job.objects.exists() and not PassRecord.objects.exists()


def test_the_counts_cost_no_query_per_client(agent):
    def queries():
        Job.objects.all().delete()
        with CaptureQueriesContext(connection) as captured, time_machine.travel(at(3, 8), tick=False):
            cycle.run_pass(at(3, 8), Autopilot.current())
        return len(captured)

    with_device(agent)
    queries()  # the first pass makes the firm's settings rows
    few = queries()
    offline, _token = make_agent()
    for n in range(30):
        device = with_device(agent, **[{}, {"agent": offline}, {"present": False}, {"health": Health.BAD}][n % 4])
        if n % 5 == 0:
            Hold.objects.create(device=device, reason=HoldReason.PASSWORD)
        if n % 7 == 0:
            Exclusion.objects.create(client=device.client, reason="客户自行处理")
        if n % 9 == 0:
            set_invoicing_mode(device.client, InvoicingMode.DIGITAL, NOV)
    many = queries()
    assert len(latest().skipped) >= 6
    assert many == few, (few, many)


def section(page: str, marker: str, end: str) -> str:
    start = page.index(marker)
    return page[start : page.index(end, start)]


def test_the_page_says_what_each_pass_did_and_did_not_and_what_comes_next(agent, as_role):
    with_device(agent)
    with_device(agent, present=False)
    Exclusion.objects.create(client=with_device(agent).client, reason="客户自行处理")
    run(at(3, 10))  # in the busy hours: made for 11:00
    with time_machine.travel(at(3, 10, 0, 30), tick=False):
        page = as_role("admin").get(reverse("autopilot:settings")).content.decode()
    passes = section(page, "data-passes", "</table>")
    assert "抄报 1" in passes
    assert "避开税局高峰时段，顺延到时段结束 1 个" in passes
    assert "设备不在位 1 台" in passes and "不参与自动清卡 1 户" in passes
    codes = {*JobKind.values, *Skip.values, *Deferral.values}
    assert not {code for code in codes if re.search(rf"\b{code}\b", passes)}
    outlook = section(page, "data-outlook", "</dl>")
    assert "抄报 1 个，2026年12月3日 11:00 起" in outlook.replace("\n", "")
    assert "抄报 1 台" in outlook  # the one not plugged in
    assert "2026年12月的抄报期 1月1日 00:05 开启" in outlook


def test_before_any_pass_the_page_says_when_the_window_opens(agent, as_role):
    Autopilot.objects.update(enabled=False)
    with time_machine.travel(at(20, 9, month=11), tick=False):
        page = as_role("admin").get(reverse("autopilot:settings")).content.decode()
    assert "2026年11月的抄报期 12月1日 00:05 开启" in page
    assert "自动清卡未开启，不会运行" in page and "自动清卡未开启，没有运行记录" in page
