"""月结报告: the rows and counts, the workbook (opened back with openpyxl), the printable page,
the API in JSON and xlsx, per 会计, and who sees what."""

import datetime as dt
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from openpyxl import load_workbook
from rest_framework.test import APIClient

from apps.jobs.models import Job, JobState
from tests.factories import make_client, make_device, make_period

OCT = dt.date(2026, 10, 1)  # due 2026-11-16 (official table)
URL = "/reports/month-end/"
API = "/api/v1/reports/month-end/"


def at(day, hour=10):
    return timezone.make_aware(dt.datetime(2026, 11, day, hour))


@pytest.fixture
def firm(users, nov10):
    """On 2026-11-10: the owner's client done on time, the owner's client with a failed clear, and
    a colleague's client with nothing done; the name of the last one begins with '='."""
    done = make_client(name="甲公司", staff=users["owner"])
    make_period(done, OCT, summary_uploaded_at=at(1), return_filed_on=dt.date(2026, 11, 3), cleared_at=at(3, 15))
    failed = make_client(name="乙公司", staff=users["owner"])
    device = make_device(failed)
    make_period(failed, OCT, summary_uploaded_at=at(2), return_filed_on=dt.date(2026, 11, 4))
    Job.objects.create(kind="clear", device=device, state=JobState.FAILED, error_code="CERT_PASSWORD_WRONG")
    idle = make_client(name="=1+1 公司", staff=users["colleague"])
    return {"done": done, "failed": failed, "idle": idle}


def rows_by_name(response) -> dict:
    return {row.client.name: row for row in response.context["report"].rows}


@pytest.mark.django_db
def test_each_client_with_its_dates_status_and_last_error(as_role, firm):
    rows = rows_by_name(as_role("admin").get(URL, {"month": "2026-10"}))
    assert set(rows) == {"甲公司", "乙公司", "=1+1 公司"}
    done, failed, idle = rows["甲公司"], rows["乙公司"], rows["=1+1 公司"]
    assert (done.status, done.summary_on, done.filed_on, done.cleared_on) == (
        "done",
        dt.date(2026, 11, 1),
        dt.date(2026, 11, 3),
        dt.date(2026, 11, 3),
    )
    assert (failed.status, failed.error, failed.accountant) == ("clear_due", "证书口令错误", "会计乙")
    assert "切勿反复尝试" in failed.remedy and failed.last_job.startswith("清卡")
    assert (idle.status, idle.summary_on, idle.late_steps) == ("summary_due", None, [])


@pytest.mark.django_db
def test_late_steps_are_named(as_role, firm, nov10):
    nov10.move_to("2026-11-20 02:00:00")  # past the deadline of 11-16
    rows = rows_by_name(as_role("admin").get(URL, {"month": "2026-10"}))
    assert rows["甲公司"].late_steps == []
    assert rows["乙公司"].late_steps == ["清卡"]
    assert rows["=1+1 公司"].late_steps == ["抄报", "申报", "清卡"]


@pytest.mark.django_db
def test_the_workbook_has_a_summary_and_every_client_as_text(as_role, firm):
    response = as_role("admin").get(URL, {"month": "2026-10", "export": "xlsx"})
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["汇总", "客户明细"]
    summary = {row[0]: row[1] for row in book["汇总"].iter_rows(values_only=True) if row and row[0]}
    assert summary["客户数"] == 3 and summary["已完成"] == 1 and summary["会计乙"] == 2
    detail = list(book["客户明细"].iter_rows(min_row=2, values_only=True))  # under the title
    assert detail[0][:4] == ("客户名称", "纳税人识别号", "负责会计", "申报状态")
    names = {row[0]: row for row in detail[1:]}
    assert names["=1+1 公司"][0] == "=1+1 公司"  # text, not a formula
    assert book["客户明细"].cell(row=3, column=1).data_type == "s"
    assert names["乙公司"][10] == "证书口令错误"


@pytest.mark.django_db
def test_an_accountant_sees_only_own_clients_and_a_filter_narrows_to_one(as_role, firm, users):
    assert set(rows_by_name(as_role("owner").get(URL, {"month": "2026-10"}))) == {"甲公司", "乙公司"}
    chosen = as_role("admin").get(URL, {"month": "2026-10", "accountant": users["colleague"].pk})
    assert set(rows_by_name(chosen)) == {"=1+1 公司"}
    # the colleague's filter asked by the owner finds none of the colleague's clients
    assert rows_by_name(as_role("owner").get(URL, {"month": "2026-10", "accountant": users["colleague"].pk})) == {}


@pytest.mark.django_db
def test_the_page_prints_and_a_bad_month_is_said_in_chinese(as_role, firm, client):
    page = as_role("readonly").get(URL, {"month": "2026-13"}).content.decode()
    assert "月份格式应为 YYYY-MM" in page and "data-print" in page and "甲公司" in page
    client.logout()
    assert client.get(URL).status_code == 302  # to the login


@pytest.mark.django_db
def test_queries_do_not_grow_with_clients(as_role, firm, users):
    admin = as_role("admin")
    admin.get(URL, {"month": "2026-10"})  # the session's first request loads what it keeps
    with CaptureQueriesContext(connection) as few:
        admin.get(URL, {"month": "2026-10"})
    for _ in range(20):
        make_period(make_client(staff=users["owner"]), OCT, summary_uploaded_at=at(1))
    with CaptureQueriesContext(connection) as many:
        admin.get(URL, {"month": "2026-10"})
    assert len(many.captured_queries) == len(few.captured_queries), [q["sql"][:80] for q in many.captured_queries]


@pytest.mark.django_db
def test_the_api_gives_json_and_xlsx_and_refuses_a_bad_month(api, firm, users):
    body = api.get(API, {"month": "2026-10"}).json()
    assert (body["month"], body["clients"], body["statuses"]["done"]) == ("2026-10", 3, 1)
    row = next(r for r in body["rows"] if r["client"] == "乙公司")
    assert (row["status"], row["error"], row["filed_on"]) == ("clear_due", "证书口令错误", "2026-11-04")
    file = api.get(API, {"month": "2026-10", "format": "xlsx"})
    assert file.status_code == 200 and file["Content-Disposition"].endswith('.xlsx"')
    assert load_workbook(io.BytesIO(file.content)).sheetnames == ["汇总", "客户明细"]
    bad = api.get(API, {"month": "2026-13"})
    assert bad.status_code == 400 and "月份格式" in bad.json()["month"][0]
    assert APIClient().get(API).status_code in (401, 403)
    one = api.get(API, {"month": "2026-10", "accountant": users["colleague"].pk}).json()
    assert [r["client"] for r in one["rows"]] == ["=1+1 公司"]
