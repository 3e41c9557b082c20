"""任务 page: who sees which jobs, the filters, paging and the exports."""

import csv
import datetime as dt
import io

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from apps.jobs.models import Job, JobKind, JobState
from tests.factories import make_agent, make_client, make_device, make_period

URL = "/jobs/"


@pytest.fixture
def world(users):
    agent, _token = make_agent("一号前置机")
    other_agent, _token = make_agent("二号前置机")
    mine = make_client(name="南京甲科技有限公司", staff=users["owner"])
    theirs = make_client(name="苏州乙贸易有限公司", staff=users["colleague"])
    my_device = make_device(mine, agent=agent, simulated=True)
    their_device = make_device(theirs, agent=other_agent)
    my_period = make_period(mine, month=dt.date(2026, 10, 1))
    failed = Job.objects.create(
        kind=JobKind.CLEAR,
        device=my_device,
        period=my_period,
        state=JobState.FAILED,
        attempts=1,
        error_code="CERT_PASSWORD_WRONG",
        error_message="证书口令错误，剩余3次",
        requested_by=users["owner"],
    )
    done = Job.objects.create(
        kind=JobKind.READ_STATUS,
        device=their_device,
        state=JobState.SUCCEEDED,
        attempts=1,
        requested_by=users["admin"],
        finished_at=timezone.now(),
    )
    return {
        "mine": mine,
        "theirs": theirs,
        "failed": failed,
        "done": done,
        "agent": agent,
        "my_device": my_device,
        "their_device": their_device,
    }


def ids(response) -> set[int]:
    return {job.pk for job in response.context["page"]}


def as_user(client, users, role):
    client.force_login(users[role])
    return client


@pytest.mark.django_db
def test_anonymous_is_sent_to_login(client, world):
    for url in (URL, f"{URL}{world['failed'].pk}/", f"{URL}?export=csv"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "role, visible",
    [
        ("admin", {"failed", "done"}),
        ("readonly", {"failed", "done"}),
        ("owner", {"failed"}),
        ("colleague", {"done"}),
    ],
)
def test_each_role_sees_the_jobs_of_the_clients_it_may_see(client, users, world, role, visible):
    response = as_user(client, users, role).get(URL)
    assert response.status_code == 200
    assert ids(response) == {world[name].pk for name in visible}


@pytest.mark.django_db
@pytest.mark.parametrize("role, status", [("admin", 200), ("readonly", 200), ("owner", 200), ("colleague", 404)])
def test_a_job_page_is_404_for_a_colleague(client, users, world, role, status):
    response = as_user(client, users, role).get(f"{URL}{world['failed'].pk}/")
    assert response.status_code == status
    if status == 200:
        assert "证书口令错误" in response.text and "切勿反复尝试" in response.text


@pytest.mark.django_db
def test_the_list_shows_client_device_error_and_remedy(client, users, world):
    text = as_user(client, users, "owner").get(URL).text
    assert "南京甲科技有限公司" in text and f'href="/clients/{world["mine"].pk}/"' in text
    assert world["my_device"].number in text and 'class="badge simulated"' in text
    assert "证书口令错误" in text and "核对并更正证书口令" in text  # message and remedy from the catalogue
    assert 'class="badge state-failed"' in text and "2026年10月" in text and "会计乙" in text
    assert "苏州乙贸易有限公司" not in text


@pytest.mark.django_db
def test_the_pages_are_read_only(client, users, world):
    as_user(client, users, "admin")
    assert client.post(URL).status_code == 405
    assert client.post(f"{URL}{world['failed'].pk}/").status_code == 405


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query, expected",
    [
        ("state=failed", {"failed"}),
        ("state=succeeded", {"done"}),
        ("kind=read_status", {"done"}),
        ("client=南京甲", {"failed"}),
        ("client=乙贸易", {"done"}),
        ("error_code=CERT_PASSWORD_WRONG", {"failed"}),
        ("month=2026-10", {"failed"}),
        ("state=failed&kind=read_status", set()),
    ],
)
def test_filters(client, users, world, query, expected):
    response = as_user(client, users, "admin").get(f"{URL}?{query}")
    assert response.status_code == 200
    assert ids(response) == {world[name].pk for name in expected}


@pytest.mark.django_db
def test_filter_by_identifier_and_agent(client, users, world):
    as_user(client, users, "admin")
    assert ids(client.get(URL, {"client": world["theirs"].taxpayer_id.lower()})) == {world["done"].pk}
    assert ids(client.get(URL, {"agent": world["agent"].pk})) == {world["failed"].pk}


@pytest.mark.django_db
def test_filter_by_date_range_on_the_local_calendar(client, users, world):
    shanghai_day = dt.datetime(2026, 11, 3, 0, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))  # 2 Nov in UTC
    Job.objects.filter(pk=world["failed"].pk).update(created_at=shanghai_day)
    Job.objects.filter(pk=world["done"].pk).update(created_at=shanghai_day + dt.timedelta(days=5))
    as_user(client, users, "admin")
    assert ids(client.get(URL, {"date_from": "2026-11-03", "date_to": "2026-11-03"})) == {world["failed"].pk}
    assert ids(client.get(URL, {"date_from": "2026-11-04"})) == {world["done"].pk}
    assert ids(client.get(URL, {"date_to": "2026-11-02"})) == set()


@pytest.mark.django_db
def test_bad_filters_are_explained_in_chinese_field_by_field(client, users, world):
    response = as_user(client, users, "admin").get(
        URL, {"month": "2026-13", "date_from": "2026-11-05", "date_to": "2026-11-01", "state": "exploded"}
    )
    assert response.status_code == 200
    errors = response.context["filter"].form.errors
    assert errors["month"] == ["月份格式应为 YYYY-MM（2000至2100年），如 2026-10"]
    assert errors["date_to"] == ["结束日期不能早于开始日期"]
    assert "state" in errors and "月份格式应为" in response.text
    # the bad fields filter nothing: every job is still listed
    assert ids(response) == {world["failed"].pk, world["done"].pk}


@pytest.mark.django_db
def test_pages_of_fifty_keep_the_filters(client, users, world):
    Job.objects.bulk_create(
        Job(kind=JobKind.READ_STATUS, device=world["my_device"], state=JobState.CANCELLED) for _ in range(55)
    )
    as_user(client, users, "admin")
    first = client.get(URL, {"state": "cancelled"})
    assert len(first.context["page"]) == 50 and first.context["page"].paginator.count == 55
    assert "state=cancelled&amp;page=2" in first.text or "page=2&amp;state=cancelled" in first.text
    second = client.get(URL, {"state": "cancelled", "page": 2})
    assert len(second.context["page"]) == 5
    assert client.get(URL, {"page": "nonsense"}).status_code == 200


def read_csv(response) -> list[list[str]]:
    assert response["Content-Type"].startswith("text/csv")
    assert response.content.startswith("\ufeff".encode())  # Excel reads the BOM as UTF-8
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


@pytest.mark.django_db
def test_csv_export_has_chinese_headers_and_every_filtered_row(client, users, world):
    Job.objects.bulk_create(
        Job(kind=JobKind.READ_STATUS, device=world["my_device"], state=JobState.CANCELLED) for _ in range(60)
    )
    response = as_user(client, users, "admin").get(URL, {"state": "cancelled", "export": "csv", "page": 2})
    assert response.status_code == 200 and "attachment;" in response["Content-Disposition"]
    rows = read_csv(response)
    assert rows[0][:8] == ["任务编号", "任务类型", "客户", "纳税人识别号", "设备编号", "模拟设备", "所属月份", "状态"]
    assert len(rows) == 61 and {row[7] for row in rows[1:]} == {"已取消"}


@pytest.mark.django_db
def test_exports_hold_only_what_the_user_may_see(client, users, world):
    rows = read_csv(as_user(client, users, "owner").get(URL, {"export": "csv"}))
    assert len(rows) == 2
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["客户"] == "南京甲科技有限公司" and row["模拟设备"] == "是" and row["所属月份"] == "2026-10"
    assert row["错误代码"] == "CERT_PASSWORD_WRONG" and row["错误信息"] == "证书口令错误"
    assert row["处理建议"].startswith("核对并更正证书口令") and row["设备返回信息"] == "证书口令错误，剩余3次"
    assert row["发起人"] == "会计乙"


@pytest.mark.django_db
def test_excel_export(client, users, world):
    response = as_user(client, users, "readonly").get(URL, {"export": "xlsx", "state": "succeeded"})
    assert response.status_code == 200 and response["Content-Disposition"].endswith('.xlsx"')
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.values)[1:]  # under the title row
    assert rows[0][0] == "任务编号" and len(rows) == 2
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["任务编号"] == world["done"].pk and row["状态"] == "成功" and row["模拟设备"] == "否"
    assert isinstance(row["结束时间"], dt.datetime)  # a real date cell, in Shanghai time
    finished = timezone.localtime(Job.objects.get(pk=world["done"].pk).finished_at)
    assert row["结束时间"] == finished.replace(tzinfo=None, microsecond=0)
