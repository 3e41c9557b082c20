"""客户 list: who sees which clients, filters, the working period's status, and its export."""

import datetime as dt
import io

import pytest
from openpyxl import load_workbook

from apps.periods.models import Period
from tests.factories import make_client, make_device

URL = "/clients/"


@pytest.fixture
def world(users, nov10):
    mine = make_client(name="南京甲科技有限公司", staff=users["owner"], contact_phone="=1+1")
    theirs = make_client(name="苏州乙贸易有限公司", staff=users["colleague"], taxpayer_kind="small_scale")
    stopped = make_client(name="无锡丙有限公司", staff=users["owner"], active=False)
    make_device(mine)
    make_device(mine, sub_number=1)
    Period.objects.create(client=mine, month=dt.date(2026, 10, 1), deadline=dt.date(2026, 11, 16))
    return {"mine": mine, "theirs": theirs, "stopped": stopped}


def names(response) -> set[str]:
    return {client.name for client in response.context["page"]}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "role, visible",
    [
        ("admin", {"mine", "theirs", "stopped"}),
        ("readonly", {"mine", "theirs", "stopped"}),
        ("owner", {"mine", "stopped"}),
        ("colleague", {"theirs"}),
    ],
)
def test_each_role_sees_its_clients(as_role, world, role, visible):
    assert names(as_role(role).get(URL)) == {world[key].name for key in visible}


@pytest.mark.django_db
def test_anonymous_is_sent_to_login(client, world):
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


@pytest.mark.django_db
def test_filters_and_the_working_period_status(as_role, world):
    client = as_role("admin")
    assert names(client.get(URL, {"active": "1", "taxpayer_kind": "general"})) == {"南京甲科技有限公司"}
    assert names(client.get(URL, {"q": world["theirs"].taxpayer_id.lower()})) == {"苏州乙贸易有限公司"}
    response = client.get(URL)
    rows = {c.name: c for c in response.context["page"]}
    assert rows["南京甲科技有限公司"].status.label == "待抄报" and rows["南京甲科技有限公司"].device_count == 2
    # no period row yet: nothing done, as the dashboard counts it; a client no longer served has no status
    assert rows["苏州乙贸易有限公司"].status.label == "待抄报" and rows[world["stopped"].name].status is None
    html = response.content.decode()
    assert f'href="/clients/{world["mine"].pk}/"' in html and "从Excel导入客户与设备" in html
    assert "从Excel导入客户与设备" not in as_role("owner").get(URL).content.decode()


@pytest.mark.django_db
def test_export_is_what_the_page_shows_for_that_user(as_role, world):
    response = as_role("owner").get(URL, {"export": "xlsx", "active": "1", "page": 3})
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.values)[1:]  # under the title row
    assert rows[0][:3] == ("客户名称", "纳税人识别号", "纳税人类型") and len(rows) == 2
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["客户名称"] == "南京甲科技有限公司" and row["本期状态"] == "待抄报" and row["设备数"] == 2
    assert row["负责会计"] == "会计乙" and row["申报周期"] == "按月申报" and row["服务中"] == "是"
    assert row["联系电话"] == "=1+1" and sheet["J3"].data_type == "s" and sheet["J3"].quotePrefix
    csv_text = as_role("colleague").get(URL, {"export": "csv"}).content.decode("utf-8-sig")
    assert "苏州乙贸易有限公司" in csv_text and "南京甲科技有限公司" not in csv_text
