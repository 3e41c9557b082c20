"""The dashboard table exported: every filtered row in risk order, as the user may see it."""

import datetime as dt
import io

import pytest
from openpyxl import load_workbook

from apps.jobs.models import Job, JobKind, JobState
from apps.periods.models import Period
from tests.factories import make_client, make_device

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("nov10")]
OCT = dt.date(2026, 10, 1)


def rows_of(response):
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    rows = list(load_workbook(io.BytesIO(response.content)).active.values)[1:]  # under the title row
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


@pytest.fixture
def clients(users):
    done = make_client(name="已完成有限公司", staff=users["owner"])
    Period.objects.create(
        client=done, month=OCT, deadline=dt.date(2026, 11, 16), cleared_at=dt.datetime(2026, 11, 3, tzinfo=dt.UTC)
    )
    failing = make_client(name="+失败有限公司", staff=users["owner"])
    device = make_device(failing, number="539900000777")
    Job.objects.create(kind=JobKind.CLEAR, device=device, state=JobState.FAILED, error_code="CERT_PASSWORD_WRONG")
    theirs = make_client(name="别人的有限公司", staff=users["colleague"])
    for n in range(55):  # more than a page
        make_client(name=f"批量客户{n:02d}", staff=users["colleague"])
    return {"done": done, "failing": failing, "theirs": theirs}


def test_export_holds_every_filtered_row_in_the_page_order(as_role, clients):
    rows = rows_of(as_role("admin").get("/", {"export": "xlsx", "month": "2026-10", "page": 2}))
    assert len(rows) == 58 and rows[-1]["客户名称"] == "已完成有限公司"  # done last, as on the page
    failing = next(r for r in rows if r["客户名称"] == "+失败有限公司")
    assert failing["申报状态"] == "待抄报" and failing["最近任务"] == "清卡 失败"
    assert failing["错误信息"] == "证书口令错误" and failing["处理建议"].startswith("核对并更正证书口令")
    assert failing["设备"] == "税控盘 539900000777 未读取 不在位"
    assert failing["申报截止日"] == dt.datetime(2026, 11, 16)
    filtered = rows_of(as_role("admin").get("/", {"export": "xlsx", "status": "done"}))
    assert [r["客户名称"] for r in filtered] == ["已完成有限公司"]


def test_an_accountant_exports_only_own_clients(as_role, clients):
    rows = rows_of(as_role("owner").get("/", {"export": "xlsx"}))
    assert {r["客户名称"] for r in rows} == {"已完成有限公司", "+失败有限公司"}
    text = as_role("owner").get("/", {"export": "csv"}).content.decode("utf-8-sig")
    assert "'+失败有限公司" in text and "别人的有限公司" not in text


def test_the_page_links_to_its_export_with_its_filters(as_role, clients):
    html = as_role("admin").get("/", {"status": "done"}).content.decode()
    assert "?status=done&amp;export=xlsx" in html
