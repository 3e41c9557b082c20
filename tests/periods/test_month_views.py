"""The month as every page and the API show it, at a set clock after the deadline: the working
period rolls over, 上期未完成 lists the stragglers with their remedies, the months API counts what
the dashboard counts, and the API, the dashboard, the client page, the bulk preview and the share
page give one answer for one period."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from apps.accounts.models import UnlockPolicy
from apps.jobs.models import Job, JobKind
from apps.periods.models import Period
from apps.periods.rules import SHANGHAI
from apps.scheduling.selection import candidates
from apps.sharing.models import ShareLink
from tests.factories import make_agent, make_client, make_device, make_period

pytestmark = pytest.mark.django_db
OCT, NOV = dt.date(2026, 10, 1), dt.date(2026, 11, 1)
NOV23 = dt.datetime(2026, 11, 23, 10, tzinfo=SHANGHAI)  # a week after October's deadline (11-16)
ON_TIME = dt.datetime(2026, 11, 3, 9, tzinfo=SHANGHAI)


@pytest.fixture
def clock_nov23():
    with time_machine.travel(NOV23, tick=False):
        yield


@pytest.fixture
def firm(users, clock_nov23):
    agent, _token = make_agent("一号机柜")
    agent.online = True
    agent.save()

    def client(name, lock_date, **period):
        made = make_client(name=name, staff=users["owner"])
        make_device(made, agent=agent, present=True, lock_date=lock_date)
        make_period(made, month=OCT, **period)
        return made

    filed = {"summary_uploaded_at": ON_TIME, "return_filed_on": dt.date(2026, 11, 10)}
    return {
        "done": client("甲已完成", dt.date(2026, 12, 15), **filed, cleared_at=ON_TIME),
        # filed on time, device lock date 11-30: still clearable a week after the deadline
        "clearable": client("乙可清卡", dt.date(2026, 11, 30), **filed),
        "overdue": client("丙逾期未申报", dt.date(2026, 11, 30), summary_uploaded_at=ON_TIME),
        "locked": client("丁已锁死", dt.date(2026, 11, 16), **filed),
        "late_done": client(
            "戊逾期完成",
            dt.date(2026, 12, 15),
            summary_uploaded_at=ON_TIME,
            return_filed_on=dt.date(2026, 11, 18),
            cleared_at=dt.datetime(2026, 11, 19, 9, tzinfo=SHANGHAI),
        ),
        "agent": agent,
    }


EXPECTED = {
    "done": "done",
    "clearable": "clear_due",
    "overdue": "return_overdue",
    "locked": "locked",
    "late_done": "done",
}


def test_after_the_deadline_the_dashboard_opens_on_the_next_period_with_last_periods_stragglers(as_role, firm):
    response = as_role("admin").get(reverse("dashboard"))
    html = response.content.decode()
    assert response.context["month"] == NOV
    assert response.context["window_opens"] == dt.datetime(2026, 12, 1, 0, 5, tzinfo=SHANGHAI)
    assert "尚未开始" in html and "2026年12月15日" in html
    stragglers = response.context["stragglers"]
    assert stragglers["month"] == OCT and stragglers["count"] == 3
    rows = {c.name: (c.status_code, str(c.remedy)) for c in stragglers["rows"]}
    assert rows["丁已锁死"][0] == "locked" and "税务机关" in rows["丁已锁死"][1]
    assert rows["丙逾期未申报"][0] == "return_overdue" and "补办申报" in rows["丙逾期未申报"][1]
    assert rows["乙可清卡"] == ("clear_due", "执行清卡")
    assert "上期未完成" in html and "甲已完成" not in html.split("上期未完成")[1].split("</section>")[0]
    # the next period waits for its window; any period, the next one too, can be chosen
    assert {c.status_code for c in response.context["page"]} == {"not_open", "locked"}
    months = [m for m in response.context["months"]]
    assert months[0] == dt.date(2026, 12, 1) and NOV in months and OCT in months


def test_the_months_api_counts_what_the_dashboard_counts(as_role, firm, api):
    dashboard = as_role("admin").get(reverse("dashboard"), {"month": "2026-10"}).context
    bars = {bar["key"]: bar["count"] for bar in dashboard["bars"]}
    body = api.get("/api/v1/months/2026-10/").json()
    assert body["month"] == "2026-10" and body["deadline"] == "2026-11-16" and body["source"] == "official"
    assert body["window_opens"] == "2026-11-01T00:05:00+08:00" and body["is_working_period"] is False
    assert body["counts"] == {**{key: bars[key] for key in body["counts"] if key != "late"}, "late": bars["late"]}
    assert body["counts"]["done"] == 2 and body["counts"]["locked"] == 1 and body["counts"]["return_overdue"] == 1
    assert body["counts"]["late"] == 4  # all but the one done on time
    current = api.get("/api/v1/months/current/").json()
    assert current["month"] == "2026-11" and current["is_working_period"] is True
    assert current["counts"]["not_open"] == 4 and current["counts"]["locked"] == 1


def test_the_months_api_covers_only_the_clients_the_caller_may_see(as_role, firm):
    assert as_role("colleague").get("/api/v1/months/2026-10/").json()["counts"]["done"] == 0
    assert as_role("owner").get("/api/v1/months/2026-10/").json()["counts"]["done"] == 2


@pytest.mark.parametrize("bad", ["2026-13", "october", "1999-10", "2026-1-1-1"])
def test_the_months_api_refuses_a_bad_month_in_chinese(api, bad, clock_nov23):
    response = api.get(f"/api/v1/months/{bad}/")
    assert response.status_code == 400 and "month" in response.json()


def test_every_path_gives_one_answer_for_one_period(as_role, firm, client):
    api_rows = {
        row["client_name"]: row for row in as_role("admin").get("/api/v1/periods/?month=2026-10").json()["results"]
    }
    dashboard = as_role("admin").get(reverse("dashboard"), {"month": "2026-10"}).context["page"]
    dashboard_rows = {c.name: c.status_code for c in dashboard}
    preview = {c.client.name: c.status.value for c in candidates(JobKind.CLEAR, OCT, {}, NOV23)}
    for key, expected in EXPECTED.items():
        made = firm[key]
        assert api_rows[made.name]["status"] == expected, made
        assert dashboard_rows[made.name] == expected, made
        assert preview[made.name] == expected, made
        link = ShareLink.objects.create(client=made, expires_at=NOV23 + dt.timedelta(days=7))
        shared = client.get(reverse("sharing:public", args=[link.token])).context["timeline"]
        assert {item.month: item.status.value for item in shared if item.status}[OCT] == expected, made
        page = as_role("admin").get(reverse("clients:detail", args=[made.pk])).context
        if expected != "done":  # a straggler is what the client page acts on
            assert page["acting"].month == OCT and page["acting_status"].value == expected, made
    assert api_rows["戊逾期完成"]["late"] is True and api_rows["甲已完成"]["late"] is False
    assert api_rows["丁已锁死"]["lock_estimated"] is False


def test_a_straggler_whose_device_is_not_locked_is_cleared_and_the_clear_counts(as_role, firm):
    clearable, locked = firm["clearable"], firm["locked"]
    as_role("owner").post(reverse("clients:clear", args=[clearable.pk]))
    job = Job.objects.get()
    assert job.kind == JobKind.CLEAR and job.period.month == OCT and job.device.client == clearable
    locked.unlock_policy = UnlockPolicy.HALL  # online first, the clear would be its one try to unlock
    locked.save()
    response = as_role("owner").post(reverse("clients:clear", args=[locked.pk]), follow=True)
    assert "2026-10：设备已锁死，按设置须到大厅" in response.content.decode()
    assert Job.objects.count() == 1


def test_without_device_data_the_page_says_the_lock_is_an_estimate(as_role, users, clock_nov23):
    unknown = make_client(name="己无设备数据", staff=users["owner"])
    make_device(unknown)
    make_period(unknown, month=OCT, summary_uploaded_at=ON_TIME)
    html = as_role("owner").get(reverse("clients:detail", args=[unknown.pk])).content.decode()
    assert "已锁死" in html and "按日历估计" in html
    assert Period.objects.get(client=unknown).lock_is_estimate()


def test_late_work_is_marked_in_the_export(as_role, firm):
    import csv
    import io

    response = as_role("admin").get(reverse("dashboard"), {"month": "2026-10", "export": "csv"})
    rows = {row["客户名称"]: row for row in csv.DictReader(io.StringIO(response.content.decode("utf-8-sig")))}
    assert rows["甲已完成"]["逾期"] == "" and rows["戊逾期完成"]["逾期"] == "逾期"
    assert rows["丙逾期未申报"]["申报状态"] == "逾期未申报" and rows["丙逾期未申报"]["逾期"] == "逾期"
