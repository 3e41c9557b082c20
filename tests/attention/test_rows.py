"""需要处理: one row per thing a person must do, derived each time (a row goes when its cause does);
a 会计 sees their own clients' rows, an admin all; each row has the buttons that act on it."""

import datetime as dt
import io

import pytest
from django.core.cache import cache
from django.urls import reverse
from openpyxl import load_workbook

from apps.attention.rows import Kind, rows_for
from apps.autopilot.models import Autopilot
from apps.core import clock
from apps.holds.models import Hold, HoldReason
from apps.jobs.models import Job, JobKind, JobState, SweepRecord
from tests.factories import make_agent, make_client, make_device, make_period

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("nov10")]  # 2026-10 is due 2026-11-16
OCT = dt.date(2026, 10, 1)


@pytest.fixture
def world(users):
    cache.clear()
    SweepRecord.objects.create(pk=1, finished_at=clock.now())  # the sweep runs: no row about it
    agent, _ = make_agent("一号机柜")
    mine, theirs = (
        make_client(name="乙的客户", staff=users["owner"]),
        make_client(name="丙的客户", staff=users["colleague"]),
    )
    held = make_device(mine, agent=agent, present=True, lock_date=dt.date(2026, 11, 16))
    Hold.objects.create(
        device=held, reason=HoldReason.PASSWORD, error_code="CERT_PASSWORD_WRONG", message="证书口令错误"
    )
    failed = make_device(theirs, agent=agent, present=True, lock_date=dt.date(2026, 11, 16))
    Job.objects.create(
        kind=JobKind.CLEAR, device=failed, state=JobState.FAILED, error_code="RETURN_NOT_FILED", finished_at=clock.now()
    )
    return {"mine": mine, "theirs": theirs, "held": held, "failed": failed, "agent": agent}


def kinds(user):
    return sorted((row.kind, row.client.name if row.client else None) for row in rows_for(user, clock.now()))


def test_each_row_and_who_sees_it(world, users):
    assert kinds(users["owner"]) == [(Kind.AGENT_OFFLINE, None), (Kind.HELD, "乙的客户")]
    assert kinds(users["colleague"]) == [(Kind.AGENT_OFFLINE, None), (Kind.FAILED, "丙的客户")]
    assert set(kinds(users["admin"])) == set(kinds(users["owner"])) | set(kinds(users["colleague"]))


def test_a_row_goes_when_its_cause_does(world, users):
    Hold.objects.update(released_at=clock.now())
    world["agent"].online = True
    world["agent"].save()
    assert kinds(users["owner"]) == []
    Job.objects.create(kind=JobKind.CLEAR, device=world["failed"], state=JobState.SUCCEEDED, finished_at=clock.now())
    assert kinds(users["colleague"]) == []


def test_missing_devices_returns_near_the_deadline_and_locks_near(world, users):
    world["agent"].online = True
    world["agent"].save()
    Hold.objects.all().delete()
    Job.objects.all().delete()
    Autopilot.objects.update_or_create(pk=1, defaults={"reminder_days": 6})
    make_device(world["mine"], sub_number=1, agent=world["agent"], present=False, last_seen_at=clock.now())
    make_period(world["mine"], month=OCT, summary_uploaded_at=clock.now())  # return due 11-16: 6 days left
    make_period(world["theirs"], month=OCT, summary_uploaded_at=clock.now(), return_filed_on=dt.date(2026, 11, 5))
    world["failed"].lock_date = dt.date(2026, 11, 11)  # locks the day after tomorrow, not cleared
    world["failed"].save()
    assert kinds(users["owner"]) == [(Kind.MISSING, "乙的客户"), (Kind.RETURN_DUE, "乙的客户")]
    assert kinds(users["colleague"]) == [(Kind.NEAR_LOCK, "丙的客户")]
    Autopilot.objects.update(reminder_days=5)
    assert (Kind.RETURN_DUE, "乙的客户") not in kinds(users["owner"])


def test_the_page_and_the_dashboard_block_carry_the_buttons(world, as_role):
    page = as_role("owner").get(reverse("attention:list")).content.decode()
    hold = Hold.objects.get()
    assert reverse("holds:release", args=[hold.pk]) in page and "丙的客户" not in page
    page = as_role("colleague").get(reverse("attention:list")).content.decode()
    assert reverse("jobs:retry", args=[Job.objects.get().pk]) in page and "乙的客户" not in page
    dashboard = as_role("admin").get(reverse("dashboard")).content.decode()
    assert reverse("attention:block") in dashboard
    block = as_role("admin").get(reverse("attention:block")).content.decode()
    assert 'id="attention"' in block and "乙的客户" in block and reverse("holds:release", args=[hold.pk]) in block


def test_a_stopped_sweep_is_a_row_for_everyone(users):
    cache.clear()
    assert [row.kind for row in rows_for(users["owner"], clock.now())] == [Kind.SWEEP_STALE]


def test_the_page_exports_what_it_shows(world, as_role):
    """Each visible row, as the page shows it; another 会计's rows are not in the file."""
    response = as_role("owner").get(reverse("attention:list"), {"export": "xlsx"})
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = [[cell.value for cell in row] for row in sheet.iter_rows(min_row=2)]  # under the title
    assert rows[0][:4] == ["事项", "客户", "纳税人识别号", "税控设备"]
    assert sorted(row[0] for row in rows[1:]) == ["前置机离线", "设备已暂停"]
    held = next(row for row in rows if row[0] == "设备已暂停")
    assert held[1:4] == ["乙的客户", world["mine"].taxpayer_id, world["held"].number]
    assert "证书口令错误" in held[6] and "丙的客户" not in str(rows)
    csv = as_role("colleague").get(reverse("attention:list"), {"export": "csv"}).content.decode("utf-8-sig")
    assert "丙的客户" in csv and "乙的客户" not in csv
