"""需要处理 says when the autopilot is on yet made nothing for a whole pass interval while work was due
on some device, naming the main reason from its pass records: not before an interval, not when it
made something or had nothing due, not when it is switched off; for the admins, who run it."""

import datetime as dt

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse

from apps.attention.rows import Kind, rows_for
from apps.autopilot import cycle
from apps.autopilot.models import Autopilot
from apps.periods.rules import SHANGHAI
from tests.factories import make_agent, make_client, make_device

pytestmark = pytest.mark.django_db
INTERVAL = dt.timedelta(seconds=settings.QINGKA_AUTOPILOT_SECONDS)
START = dt.datetime(2026, 12, 3, 8, 0, tzinfo=SHANGHAI)  # November's 抄报 is due


@pytest.fixture
def cabinet():
    Autopilot.objects.update_or_create(pk=1, defaults={"enabled": True})
    agent, _token = make_agent("一号机柜")  # never heard from: offline
    for _ in range(3):
        make_device(make_client(), agent=agent, present=True, lock_date=dt.date(2026, 12, 15), monitored_at=START)
    return agent


def run(moment):
    with time_machine.travel(moment, tick=False):
        cycle.run_pass(moment, Autopilot.current())


def stalled_rows(user, moment):
    return [row for row in rows_for(user, moment) if row.kind == Kind.AUTOPILOT_STALLED]


def test_a_row_once_an_interval_passed_with_work_due_and_nothing_done(cabinet, users):
    run(START)
    assert stalled_rows(users["admin"], START + INTERVAL) == []  # one pass: not yet an interval
    run(START + INTERVAL / 2)
    assert stalled_rows(users["admin"], START + INTERVAL) == []
    run(START + INTERVAL)
    [row] = stalled_rows(users["admin"], START + INTERVAL)
    assert row.since == START
    assert "3 台设备有待办" in row.reason and "主要原因：前置机离线、停用或未分配（3 台）" in row.reason
    assert stalled_rows(users["owner"], START + INTERVAL) == []  # a 会计 does not run the cycle
    Autopilot.objects.update(enabled=False)
    assert stalled_rows(users["admin"], START + INTERVAL) == []


def test_the_row_goes_once_a_pass_makes_something(cabinet, users, as_role):
    run(START)
    run(START + INTERVAL)
    page = as_role("admin").get(reverse("attention:list")).content.decode()
    assert "自动清卡没有进展" in page and reverse("autopilot:settings") in page
    cabinet.online = True
    cabinet.save()
    run(START + 2 * INTERVAL)
    assert stalled_rows(users["admin"], START + 2 * INTERVAL) == []


def test_no_row_when_nothing_is_due(cabinet, users):
    early = START.replace(day=1, hour=0, minute=1)  # before the window: nothing due, nothing made
    for n in range(3):
        run(early + n * INTERVAL)
    assert stalled_rows(users["admin"], early + 2 * INTERVAL) == []
