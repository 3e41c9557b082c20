import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.audit import log
from apps.audit.models import AuditEvent
from apps.jobs.models import Job
from apps.periods.models import Period
from tests.factories import make_agent, make_client, make_device, make_period

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("nov10")]
OCT = dt.date(2026, 10, 1)
ACTIONS = ["clients:read_status", "clients:upload_summary", "clients:clear"]
MONITORING = {
    "zxbsrq": "2026-11-02",
    "kpjzsj": "2026-11-16",
    "lxkpsc": 72,
    "lxkpzs": 200,
    "lxzssyje": "50000.00",
    "invoice_types": {"004": {"state": 2}, "007": {"state": 2}, "026": {"state": 3}},
}


@pytest.fixture
def firm(users):
    agent, _token = make_agent("一号机柜")
    agent.online = True
    agent.save()
    mine = make_client(
        name="乙的客户有限公司", staff=users["owner"], contact_name="王财务", contact_phone="13800000000"
    )
    device = make_device(client=mine, agent=agent, present=True, simulated=True, monitoring=MONITORING)
    return {"client": mine, "device": device, "agent": agent}


def detail(client):
    return reverse("clients:detail", args=[client.pk])


def test_anonymous_is_sent_to_login(client, firm):
    for url in [detail(firm["client"]), reverse("clients:record_return", args=[firm["client"].pk])]:
        assert client.get(url).url.startswith(reverse("login"))
    for name in ACTIONS:
        assert client.post(reverse(name, args=[firm["client"].pk])).url.startswith(reverse("login"))
    assert not Job.objects.exists()


@pytest.mark.parametrize(
    ("role", "status", "actions"),
    [
        ("admin", 200, True),
        ("owner", 200, True),
        ("readonly", 200, False),
        ("colleague", 404, False),
    ],
)
def test_the_page_for_each_role(as_role, firm, role, status, actions):
    response = as_role(role).get(detail(firm["client"]))
    assert response.status_code == status
    if status == 200:
        html = response.content.decode()
        assert "乙的客户有限公司" in html and "会计乙" in html and "王财务" in html
        assert (reverse("clients:clear", args=[firm["client"].pk]) in html) is actions
        assert ("生成分享链接" in html) is actions


def test_the_page_shows_devices_with_monitoring_data_and_24_months(as_role, firm, users):
    client = firm["client"]
    make_period(
        client=client,
        month=dt.date(2026, 9, 1),
        deadline=dt.date(2026, 10, 26),
        summary_uploaded_at=timezone.now(),
        return_filed_on=dt.date(2026, 10, 9),
        cleared_at=timezone.now(),
    )
    make_period(client=client, month=OCT, summary_uploaded_at=timezone.now())
    Job.objects.create(device=firm["device"], kind="clear", state="failed", attempts=1, error_code="RETURN_NOT_FILED")
    log.record("period.return_filed", Period.objects.get(month=OCT), user=users["owner"])
    response = as_role("owner").get(detail(client))
    html = response.content.decode()
    for text in [
        "2026年11月16日",
        "2026年11月2日",
        "72 小时",
        "200 张",
        "¥50,000.00",
        "增值税专用发票",
        "抄税未清卡",
        "已清卡",
        'class="badge simulated"',
        "一号机柜",
        "待申报",
        "已完成",
        "未完成申报/报税",
        "在电子税务局完成本期申报后再清卡",
        "1 / 5",
        "记录申报",
    ]:
        assert text in html, text
    timeline = response.context["timeline"]
    assert len(timeline) == 24 and timeline[0].month == OCT and timeline[-1].month == dt.date(2024, 11, 1)
    assert [t.status for t in timeline[:2]] == ["return_due", "done"] and timeline[2].status is None


def test_legacy_identifier_is_marked(as_role, users):
    client = make_client(name="个体户", taxpayer_id="110101199003074477", staff=users["owner"])
    assert client.taxpayer_id_legacy
    assert 'title="旧纳税人识别号"' in as_role("owner").get(detail(client)).content.decode()


@pytest.mark.parametrize("name", ACTIONS)
def test_readonly_gets_403_and_colleague_404_on_actions(as_role, firm, name):
    url = reverse(name, args=[firm["client"].pk])
    assert as_role("readonly").post(url).status_code == 403
    assert as_role("colleague").post(url).status_code == 404
    assert as_role("owner").get(url).status_code == 405
    assert not Job.objects.exists() and not AuditEvent.objects.exists()


def test_read_status_makes_a_job_per_device_and_audits(as_role, firm):
    response = as_role("owner").post(reverse("clients:read_status", args=[firm["client"].pk]), follow=True)
    job = Job.objects.get()
    assert job.kind == "read_status" and job.period is None and job.device == firm["device"]
    assert AuditEvent.objects.filter(action="job.requested", client=firm["client"]).exists()
    assert "已发起 1 个“读取状态”任务" in response.content.decode()


def test_upload_summary_for_the_working_period_and_skipped_reasons(as_role, firm):
    missing = make_device(client=firm["client"], agent=firm["agent"], present=False, sub_number=1)
    response = as_role("admin").post(reverse("clients:upload_summary", args=[firm["client"].pk]), follow=True)
    job = Job.objects.get()
    assert job.kind == "upload_summary" and job.period.month == OCT and job.device == firm["device"]
    html = response.content.decode()
    assert str(missing) in html and "设备不在位" in html


def test_clear_waits_until_the_period_is_ready(as_role, firm):
    url = reverse("clients:clear", args=[firm["client"].pk])
    response = as_role("owner").post(url, follow=True)
    assert "2026-10：未完成申报（待申报），申报后才能清卡" in response.content.decode() and not Job.objects.exists()
    assert not Period.objects.exists()  # a refused request leaves no trace
    make_period(firm["client"], month=OCT, summary_uploaded_at=timezone.now(), return_filed_on=dt.date(2026, 11, 9))
    as_role("owner").post(url)
    assert Job.objects.get().kind == "clear"


def test_record_return_page_for_each_role(as_role, firm):
    url = reverse("clients:record_return", args=[firm["client"].pk])
    assert as_role("readonly").get(url).status_code == 403
    assert as_role("colleague").get(url).status_code == 404
    page = as_role("owner").get(url)
    assert page.status_code == 200 and "申报销售额" in page.content.decode()
    assert as_role("readonly").post(url, {"month": "2026-10", "filed_on": "2026-11-09"}).status_code == 403
    assert as_role("colleague").post(url, {"month": "2026-10", "filed_on": "2026-11-09"}).status_code == 404
    assert not Period.objects.exists()


def test_record_return(as_role, firm, users):
    url = reverse("clients:record_return", args=[firm["client"].pk])
    response = as_role("owner").post(
        url, {"month": "2026-10", "filed_on": "2026-11-09", "declared_sales": "123456.78", "declared_tax": "16049.38"}
    )
    assert response.status_code == 302 and response.url == detail(firm["client"])
    period = Period.objects.get(client=firm["client"], month=OCT)
    assert (period.return_filed_on, period.declared_sales, period.declared_tax) == (
        dt.date(2026, 11, 9),
        Decimal("123456.78"),
        Decimal("16049.38"),
    )
    assert AuditEvent.objects.get(action="period.return_filed").actor_user == users["owner"]


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"filed_on": "2026-11-20"}, "filed_on", "申报日期不能晚于今天"),
        ({"filed_on": ""}, "filed_on", "请填写申报日期"),
        ({"filed_on": "2026-11-09", "declared_sales": "-5"}, "declared_sales", "申报销售额不能为负数"),
        ({"filed_on": "2026-11-09", "declared_tax": "abc"}, "declared_tax", "输入一个数字"),
        ({"filed_on": "2026-11-09", "month": "2030-01"}, "month", "选择一个有效的选项"),
    ],
)
def test_record_return_errors_field_by_field_nothing_written(as_role, firm, data, field, message):
    url = reverse("clients:record_return", args=[firm["client"].pk])
    response = as_role("owner").post(url, {"month": "2026-10", **data})
    assert response.status_code == 200
    assert any(message in error for error in response.context["form"].errors[field]), response.context["form"].errors
    assert not Period.objects.exists() and not AuditEvent.objects.exists()
