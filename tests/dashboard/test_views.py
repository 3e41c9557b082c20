import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.clients.models import Client
from apps.devices.models import Device
from apps.jobs.models import Job
from apps.periods.models import Period
from tests.factories import credit_code, make_agent, make_client, make_device, make_period

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("nov10")]
OCT = dt.date(2026, 10, 1)
URL = reverse("dashboard")


@pytest.fixture
def two_clients(users):
    mine = make_client(name="乙的客户有限公司", staff=users["owner"])
    theirs = make_client(name="丙的客户有限公司", staff=users["colleague"])
    return mine, theirs


def test_anonymous_is_sent_to_login(client):
    for url in (URL, reverse("dashboard_live")):
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith(reverse("login"))
    assert client.post(reverse("dashboard_record_filed")).status_code == 302


@pytest.mark.parametrize(
    ("role", "sees_mine", "sees_theirs"),
    [
        ("admin", True, True),
        ("owner", True, False),
        ("colleague", False, True),
        ("readonly", True, True),
    ],
)
def test_each_role_sees_the_clients_it_may_see(as_role, two_clients, role, sees_mine, sees_theirs):
    html = as_role(role).get(URL).content.decode()
    assert ("乙的客户有限公司" in html) is sees_mine
    assert ("丙的客户有限公司" in html) is sees_theirs
    assert ('name="clients"' in html) is (role != "readonly")  # only those who may record returns get checkboxes


def test_opens_on_the_working_period_with_deadline_and_days_left(as_role, two_clients):
    response = as_role("admin").get(URL)
    html = response.content.decode()
    assert response.context["month"] == OCT
    assert "2026年10月" in html and "2026年11月16日" in html and "官方公布" in html and "还剩 6 天" in html
    other = as_role("admin").get(URL, {"month": "2026-09"})
    assert other.context["month"] == dt.date(2026, 9, 1) and "2026年10月26日" in other.content.decode()


def test_a_client_without_a_period_counts_as_summary_due_and_get_creates_nothing(as_role, two_clients):
    response = as_role("admin").get(URL)
    bars = {bar["key"]: bar["count"] for bar in response.context["bars"]}
    assert bars["summary_due"] == 2 and bars["done"] == 0
    assert not Period.objects.exists()


def test_bad_month_falls_back_with_a_message(as_role, two_clients):
    response = as_role("admin").get(URL, {"month": "2026-13"})
    assert response.context["month"] == OCT and "月份格式应为" in response.content.decode()


def test_filters_search_and_bars(as_role, users):
    agent, _token = make_agent("一号机柜")
    agent.online = True
    agent.save()
    done = make_client(name="华信科技有限公司", staff=users["owner"], taxpayer_kind="small_scale")
    make_period(client=done, month=OCT, summary_uploaded_at=timezone.now(), cleared_at=timezone.now())
    make_device(client=done, kind="ukey", agent=agent, present=True)
    locked = make_client(name="金桥贸易有限公司", staff=users["colleague"])
    make_period(client=locked, month=OCT)
    make_device(client=locked, kind="golden_tax_disk", present=False, locked_reported=True)
    web = as_role("admin")

    def names(**params):
        return [c.name for c in web.get(URL, params).context["page"]]

    assert names(status="done") == ["华信科技有限公司"]
    assert names(status="locked") == ["金桥贸易有限公司"]
    assert names(q="华信") == ["华信科技有限公司"]
    assert names(q=locked.taxpayer_id.lower()) == ["金桥贸易有限公司"]
    assert names(staff=users["colleague"].pk) == ["金桥贸易有限公司"]
    assert names(kind="ukey") == ["华信科技有限公司"]
    assert names(agent=agent.pk) == ["华信科技有限公司"]
    assert names(taxpayer_kind="small_scale") == ["华信科技有限公司"]
    assert names(problem="missing") == ["金桥贸易有限公司"]
    assert names() == ["金桥贸易有限公司", "华信科技有限公司"]  # risk order: locked first, done last
    response = web.get(URL, {"staff": users["owner"].pk})
    bars = {bar["key"]: bar for bar in response.context["bars"]}
    assert bars["done"]["count"] == 1 and bars["locked"]["count"] == 0 and bars["missing"]["count"] == 0
    assert f"staff={users['owner'].pk}" in bars["done"]["query"] and "status=done" in bars["done"]["query"]


def test_rows_show_devices_last_job_with_remedy_and_last_contact(as_role, users):
    client = make_client(name="宏达餐饮有限公司", staff=users["owner"])
    seen = timezone.now() - dt.timedelta(hours=1)
    device = make_device(
        client=client,
        simulated=True,
        present=True,
        last_seen_at=seen,
        monitoring={"zxbsrq": "2026-10-02", "kpjzsj": "2026-11-16"},
    )
    Job.objects.create(device=device, kind="clear", state="failed", error_code="RETURN_NOT_FILED")
    html = as_role("owner").get(URL).content.decode()
    assert 'class="badge simulated"' in html and "税控盘" in html
    assert "待清卡" in html  # the device's cycle state from its monitoring data
    assert (
        "清卡" in html and "失败" in html and "未完成申报/报税" in html and "在电子税务局完成本期申报后再清卡" in html
    )
    assert "2026年11月10日" in html  # last contact (09:00 in Shanghai)


def test_the_agent_panel(as_role, users):
    online, _ = make_agent("在线机柜")
    online.online, online.last_heartbeat_at = True, timezone.now()
    online.save()
    offline, _ = make_agent("离线机柜")
    mine = make_client(name="我的客户有限公司", staff=users["owner"])
    make_device(client=mine, agent=online, present=True)
    make_device(client=mine, agent=offline, present=False, number="539900000777", sub_number=1)
    make_device(client=make_client(staff=users["colleague"]), agent=offline, present=False, number="539900000888")
    response = as_role("owner").get(URL)
    agents = {a.name: a for a in response.context["agents"]}
    assert agents["在线机柜"].online and agents["在线机柜"].present_count == 1 and agents["在线机柜"].missing_count == 0
    assert not agents["离线机柜"].online and agents["离线机柜"].missing_count == 2
    assert [d.number for d in agents["离线机柜"].missing_devices] == ["539900000777"]  # only the visible one is named
    html = response.content.decode()
    assert "539900000888" not in html and "在线" in html and "离线" in html
    bars = {bar["key"]: bar["count"] for bar in response.context["bars"]}
    assert bars["offline"] == 1 and bars["missing"] == 1


def test_live_fragment_polls_and_keeps_the_filters(as_role, two_clients):
    response = as_role("admin").get(reverse("dashboard_live"), {"status": "summary_due", "q": "乙"})
    html = response.content.decode()
    assert "<html" not in html and 'id="live"' in html and 'hx-trigger="every 5s' in html
    assert "status=summary_due" in html and "乙的客户有限公司" in html and "丙的客户有限公司" not in html
    page = as_role("admin").get(URL).content.decode()
    assert 'hx-get="/live/?' in page


def test_pagination_50_a_page(as_role, users):
    Client.objects.bulk_create(
        [Client(name=f"客户{n:03d}", taxpayer_id=credit_code(90000 + n), taxpayer_kind="general") for n in range(120)]
    )
    web = as_role("admin")
    first, last = web.get(URL).context["page"], web.get(URL, {"page": 3}).context["page"]
    assert len(first) == 50 and len(last) == 20 and first.paginator.num_pages == 3


def _firm(n, staff):
    """n clients, each with a device, a period of October and a failed job."""
    base = 200000 + Client.objects.count()
    clients = Client.objects.bulk_create(
        [
            Client(name=f"批量客户{base + i}", taxpayer_id=credit_code(base + i), taxpayer_kind="general", staff=staff)
            for i in range(n)
        ]
    )
    agent, _ = make_agent()
    devices = Device.objects.bulk_create(
        [
            Device(
                client=c,
                kind="tax_disk",
                number=f"7{base + i:011d}",
                agent=agent,
                simulated=True,
                monitoring={"zxbsrq": "2026-10-02", "kpjzsj": "2026-11-16"},
            )
            for i, c in enumerate(clients)
        ]
    )
    Period.objects.bulk_create([Period(client=c, month=OCT, deadline=dt.date(2026, 11, 16)) for c in clients])
    Job.objects.bulk_create(
        [Job(device=d, kind="upload_summary", state="failed", error_code="DEVICE_BUSY") for d in devices]
    )


@pytest.mark.parametrize("role", ["admin", "owner"])
def test_queries_do_not_grow_with_the_number_of_clients(as_role, users, role):
    web = as_role(role)
    counts = []
    for n in (10, 490):  # 10 clients, then 500
        _firm(n, users["owner"])
        for url in (URL, reverse("dashboard_live")):
            web.get(url)  # warm: session, content types
            with CaptureQueriesContext(connection) as queries:
                response = web.get(url, {"status": "summary_due"})
            assert response.status_code == 200
            counts.append(len(queries))
        assert response.context["page"].paginator.count == Client.objects.count()
    assert counts[:2] == counts[2:], counts
    assert max(counts) <= 12, counts  # issue 13: session, user, deadline, counts, page, devices, jobs, agents…


def test_owner_records_returns_in_bulk(as_role, users, two_clients):
    mine, _theirs = two_clients
    other_mine = make_client(name="乙的第二家有限公司", staff=users["owner"])
    make_period(client=other_mine, month=OCT, summary_uploaded_at=timezone.now())
    response = as_role("owner").post(
        reverse("dashboard_record_filed"),
        {
            "month": "2026-10",
            "filed_on": "2026-11-09",
            "clients": [mine.pk, other_mine.pk],
            "return_query": "status=return_due",
        },
    )
    assert response.status_code == 302 and response.url == "/?status=return_due"
    periods = Period.objects.filter(month=OCT).order_by("client__name")
    assert {p.client_id: p.return_filed_on for p in periods} == {
        mine.pk: dt.date(2026, 11, 9),
        other_mine.pk: dt.date(2026, 11, 9),
    }
    assert AuditEvent.objects.filter(action="period.return_filed", actor_user=users["owner"]).count() == 2


def test_empty_date_means_today(as_role, two_clients):
    mine, _ = two_clients
    as_role("owner").post(reverse("dashboard_record_filed"), {"month": "2026-10", "clients": [mine.pk]})
    assert Period.objects.get(client=mine, month=OCT).return_filed_on == dt.date(2026, 11, 10)


def test_a_colleagues_client_in_the_selection_refuses_the_whole_batch(as_role, two_clients):
    mine, theirs = two_clients
    response = as_role("owner").post(
        reverse("dashboard_record_filed"),
        {"month": "2026-10", "filed_on": "2026-11-09", "clients": [mine.pk, theirs.pk]},
        follow=True,
    )
    html = response.content.decode()
    assert "所选客户中有不存在或无权查看的客户" in html and "未记录任何申报" in html and theirs.name not in html
    assert not Period.objects.exists() and not AuditEvent.objects.exists()


def test_bad_date_refuses_the_whole_batch(as_role, two_clients):
    mine, _ = two_clients
    response = as_role("admin").post(
        reverse("dashboard_record_filed"),
        {"month": "2026-10", "filed_on": "2026-11-11", "clients": [mine.pk]},
        follow=True,
    )
    assert "申报日期不能晚于今天" in response.content.decode()
    assert not Period.objects.exists() and not AuditEvent.objects.exists()
    response = as_role("admin").post(
        reverse("dashboard_record_filed"), {"month": "2026-10", "filed_on": "2026-11-09"}, follow=True
    )
    assert "请先在表格中勾选客户" in response.content.decode()


def test_readonly_may_not_record_returns(as_role, two_clients):
    mine, _ = two_clients
    response = as_role("readonly").post(reverse("dashboard_record_filed"), {"month": "2026-10", "clients": [mine.pk]})
    assert response.status_code == 403 and not Period.objects.exists()


def test_get_is_not_allowed_on_the_bulk_action(as_role):
    assert as_role("admin").get(reverse("dashboard_record_filed")).status_code == 405
