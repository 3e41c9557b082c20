"""客户与设备导入: template, preview with row/column errors, all or nothing, GBK CSV, idempotent
re-import, passwords encrypted and never shown; page and API."""

import csv
import io
import json

import pytest
from django.db import connection
from openpyxl import Workbook, load_workbook

from apps.audit.models import AuditEvent
from apps.clients.models import Client
from apps.devices.models import Device
from tests.factories import credit_code, make_client, make_device

HEADER = [
    "纳税人识别号",
    "客户名称",
    "纳税人类型",
    "负责会计",
    "联系电话",
    "设备类型",
    "设备编号",
    "开票机号",
    "证书口令",
    "设备口令",
]
ID1, ID2 = credit_code(9101), credit_code(9102)
SECRET = "Zx81726354"
ROWS = [
    [ID1, "南京导入甲科技有限公司", "一般纳税人", "accountant", "025-1234", "税控盘", "539900000001", 0, SECRET, ""],
    [ID1, "", "", "", "", "税务UKey", "539900000002", 1, "", ""],
    [ID2, "苏州导入乙贸易有限公司", "小规模纳税人", "会计丙", "", "金税盘", "661800000003", "", "", ""],
]
API = "/api/v1/clients/import/"


def xlsx(rows, header=HEADER) -> bytes:
    book = Workbook()
    for row in [header, *rows]:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_bytes(rows, encoding, header=HEADER) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows([header, *rows])
    return out.getvalue().encode(encoding)


def upload(api, data, name="客户.xlsx", **fields):
    return api.post(API, {"file": _file(data, name), **fields}, format="multipart")


def _file(data, name):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data)


def state():
    """Everything the import could change, to show nothing changed."""
    clients = list(Client.objects.order_by("pk").values())
    devices = list(Device.objects.order_by("pk").values("pk", "number", "kind", "sub_number", "client_id"))
    return clients, devices, AuditEvent.objects.count()


@pytest.mark.django_db
def test_dry_run_is_the_default_and_writes_nothing(api, users):
    before = state()
    response = upload(api, xlsx(ROWS))
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["dry_run"] is True and body["written"] is False and body["errors"] == []
    assert [(i["object"], i["key"]) for i in body["created"]] == [
        ("client", ID1),
        ("client", ID2),
        ("device", "539900000001"),
        ("device", "539900000002"),
        ("device", "661800000003"),
    ]
    assert body["created"][0]["changes"]["客户名称"] == {"before": "", "after": "南京导入甲科技有限公司"}
    assert body["created"][2]["changes"]["证书口令"]["after"] == "（已更新）"
    assert SECRET not in response.content.decode()
    assert state() == before


@pytest.mark.django_db
def test_import_writes_everything_encrypts_passwords_and_audits_without_them(api, users):
    response = upload(api, xlsx(ROWS), dry_run="false")
    assert response.status_code == 200 and response.json()["written"] is True
    first = Client.objects.get(taxpayer_id=ID1)
    assert first.staff == users["owner"] and first.contact_phone == "025-1234" and first.taxpayer_kind == "general"
    assert Client.objects.get(taxpayer_id=ID2).staff == users["colleague"]  # found by display name
    main, sub = first.devices.order_by("sub_number")
    assert (main.number, main.kind, sub.kind, sub.sub_number) == ("539900000001", "tax_disk", "ukey", 1)
    assert main.certificate_password == SECRET and main.device_password == "88888888"  # default
    assert sub.certificate_password == "12345678"
    with connection.cursor() as cursor:
        cursor.execute("SELECT certificate_password FROM devices_device WHERE number = %s", ["539900000001"])
        stored = cursor.fetchone()[0]
    assert SECRET not in stored and stored.startswith("gAAAA")  # Fernet
    events = AuditEvent.objects.filter(action__in=["client.created", "device.created"])
    assert events.count() == 5 and all(e.actor_user == users["admin"] for e in events)
    assert not any(SECRET in json.dumps([e.before, e.after], ensure_ascii=False) for e in AuditEvent.objects.all())
    device_event = events.get(object_type="devices.device", object_id=str(main.pk))
    assert (
        device_event.after["certificate_password"] == "（已更新）" and device_event.after["import_file"] == "客户.xlsx"
    )


@pytest.mark.django_db
def test_reimporting_the_same_sheet_changes_nothing(api, users):
    assert upload(api, xlsx(ROWS), dry_run="false").status_code == 200
    before = state()
    body = upload(api, xlsx(ROWS), dry_run="false").json()
    assert body["created"] == body["updated"] == [] and len(body["unchanged"]) == 5
    assert body["written"] is False and state() == before


@pytest.mark.django_db
def test_changes_show_before_and_after_and_blank_cells_keep_what_is_stored(api, users):
    upload(api, xlsx(ROWS), dry_run="false")
    rows = [
        [ID1, "", "", "", "025-9999", "", "539900000001", "", "", "11112222"],
        [ID2, "", "", "", "", "", "", "", "", ""],
    ]
    body = upload(api, xlsx(rows), dry_run="false").json()
    assert [(i["object"], i["changes"]) for i in body["updated"]] == [
        ("client", {"联系电话": {"before": "025-1234", "after": "025-9999"}}),
        ("device", {"设备口令": {"before": "", "after": "（已更新）"}}),
    ]
    client = Client.objects.get(taxpayer_id=ID1)
    assert client.name == "南京导入甲科技有限公司" and client.staff == users["owner"]
    device = Device.objects.get(number="539900000001")
    assert device.device_password == "11112222" and device.certificate_password == SECRET
    event = AuditEvent.objects.get(action="client.updated")
    assert event.before == {"contact_phone": "025-1234"} and event.after["contact_phone"] == "025-9999"


@pytest.mark.django_db
def test_one_bad_row_means_nothing_is_written_and_each_error_names_row_and_column(api, users):
    other = make_client(name="已有客户")
    make_device(other, number="539900000009")
    rows = [
        *ROWS,
        ["91320100MA00000X00", "坏识别号", "一般纳税人", "", "", "", "", "", "", ""],
        [credit_code(9103), "", "个体户", "nobody", "", "税控盘", "6.61814E+11", "", "", ""],
        [credit_code(9104), "丙公司", "一般纳税人", "", "", "税控盘", "539900000009", "", "", ""],
        [credit_code(9105), "丁公司", "一般纳税人", "", "", "", "539900000001", "", "", ""],
        [ID1, "南京导入甲科技有限公司（改）", "", "", "", "", "", "", "", ""],
        [ID2, "", "", "", "", "税控盘", "539900000010", "", "", ""],
    ]
    before = state()
    response = upload(api, csv_bytes(rows, "utf-8"), name="clients.csv", dry_run="false")
    assert response.status_code == 400
    errors = {(e["row"], e["column"]): e["message"] for e in response.json()["errors"]}
    assert errors[(5, "纳税人识别号")].startswith("纳税人识别号不正确：")
    assert errors[(6, "纳税人类型")] == "纳税人类型“个体户”无法识别，应为：一般纳税人、小规模纳税人"
    assert errors[(6, "负责会计")].startswith("找不到用户名或姓名为“nobody”")
    assert "科学计数法" in errors[(6, "设备编号")]
    assert errors[(6, "客户名称")] == "新客户须填写客户名称"
    assert errors[(7, "设备编号")].startswith("该设备已登记在客户“已有客户”")
    assert errors[(8, "设备编号")] == "与第 2 行的设备编号重复"
    assert errors[(9, "客户名称")] == "与第 2 行同一客户的“客户名称”不一致"
    assert errors[(10, "开票机号")] == "该客户的开票机号 0 已由设备 661800000003 使用"
    assert response.json()["written"] is False and state() == before


@pytest.mark.security
@pytest.mark.django_db
def test_a_admin_or_read_only_user_is_refused_as_the_accountant_cell_by_cell(api, users):
    """Issue 27: the model, API and admin refuse a 管理员 or 只读 user as 负责会计; the import did not."""
    rows = [
        [credit_code(9111), "角色甲公司", "一般纳税人", "admin", "", "", "", "", "", ""],
        [credit_code(9112), "角色乙公司", "一般纳税人", "只读丁", "", "", "", "", "", ""],
        [credit_code(9113), "角色丙公司", "一般纳税人", "accountant", "", "", "", "", "", ""],
    ]
    before = state()
    response = upload(api, xlsx(rows), dry_run="false")
    assert response.status_code == 400 and response.json()["written"] is False and state() == before
    errors = {(e["row"], e["column"]): e["message"] for e in response.json()["errors"]}
    assert errors == {
        (2, "负责会计"): "负责会计必须是角色为“会计”的用户，管理员甲 的角色是“管理员”",
        (3, "负责会计"): "负责会计必须是角色为“会计”的用户，只读丁 的角色是“只读”",
    }


@pytest.mark.django_db
def test_gbk_csv_and_utf8_csv_read_alike(api, users):
    for encoding in ("gbk", "utf-8-sig"):
        body = upload(api, csv_bytes(ROWS, encoding), name="客户.csv").json()
        assert body["errors"] == [] and len(body["created"]) == 5
        assert body["created"][0]["name"] == "南京导入甲科技有限公司"


@pytest.mark.django_db
def test_unreadable_file_and_missing_header(api, users):
    body = upload(api, b"\x00\x01junk", name="a.xlsx").json()
    assert body["errors"] == [{"row": None, "column": None, "message": "无法读取该Excel文件，请确认它是 .xlsx 格式"}]
    body = upload(api, xlsx([["x"]], header=["名称"])).json()
    assert body["errors"][0]["row"] == 1 and "纳税人识别号" in body["errors"][0]["message"]
    body = upload(api, xlsx([[ID1, "甲", "一般纳税人", "地址"]], header=[*HEADER[:3], "地址"])).json()
    assert body["ignored_columns"] == ["地址"] and body["errors"] == []


@pytest.mark.django_db
@pytest.mark.parametrize("role, expected", [("owner", 403), ("readonly", 403), (None, 401)])
def test_import_api_is_for_admins_only(client, users, role, expected):
    from rest_framework.test import APIClient

    api = APIClient()
    if role:
        api.force_authenticate(users[role])
    assert upload(api, xlsx(ROWS), dry_run="false").status_code in (expected, 403)
    assert api.get(f"{API}template/?format=csv").status_code in (expected, 403)
    assert not Client.objects.exists()


@pytest.mark.django_db
def test_template_from_api_and_page(api, users, client):
    response = api.get(f"{API}template/?format=xlsx")
    assert response.status_code == 200 and response["Content-Disposition"].endswith('.xlsx"')
    book = load_workbook(io.BytesIO(response.content))
    headers = [c.value for c in book.worksheets[0][2]]  # under the title row
    assert headers[:3] == ["纳税人识别号", "客户名称", "纳税人类型"] and "证书口令" in headers
    assert book.worksheets[0].column_dimensions["A"].number_format == "@"
    notes = [row[0] for row in book["填写说明"].iter_rows(min_row=3, max_row=4, values_only=True)]
    assert notes == ["纳税人识别号", "客户名称"]
    response = api.get(f"{API}template/?format=csv")
    assert response.content.decode("utf-8-sig").startswith("纳税人识别号,客户名称,纳税人类型")
    assert api.get(f"{API}template/?format=pdf").status_code == 400
    client.force_login(users["admin"])
    page = client.get("/clients/import/template.csv")
    assert page.status_code == 200 and page.content == response.content
    # The template, filled in, imports.
    filled = load_workbook(io.BytesIO(api.get(f"{API}template/?format=xlsx").content))
    filled.worksheets[0].append([ID1, "甲公司", "一般纳税人"])
    out = io.BytesIO()
    filled.save(out)
    assert upload(api, out.getvalue()).json()["errors"] == []


@pytest.mark.django_db
def test_page_preview_confirm_and_never_a_password(client, users):
    client.force_login(users["admin"])
    assert client.get("/clients/import/").status_code == 200
    response = client.post("/clients/import/", {"file": _file(xlsx(ROWS), "客户.xlsx")})
    html = response.content.decode()
    assert response.status_code == 200 and SECRET not in html and "（已更新）" in html
    assert "南京导入甲科技有限公司" in html and not Client.objects.exists()
    kept = client.session["clients.import"]
    assert SECRET not in json.dumps(kept) and "539900000001" not in json.dumps(kept)  # the file is encrypted
    response = client.post("/clients/import/confirm/", {"token": response.context["token"]}, follow=True)
    assert Client.objects.count() == 2 and Device.objects.count() == 3
    assert "已从文件“客户.xlsx”导入：新建 5 项" in response.content.decode()
    assert client.post("/clients/import/confirm/", {"token": "x"}).status_code == 302  # used once
    assert Client.objects.count() == 2


@pytest.mark.django_db
def test_page_shows_errors_by_row_and_column_and_offers_no_confirmation(client, users):
    client.force_login(users["admin"])
    rows = [[ID1, "甲", "一般纳税人", "", "", "税控盘", "12345", "", "", ""]]
    response = client.post("/clients/import/", {"file": _file(csv_bytes(rows, "gbk"), "a.csv")})
    assert "token" not in response.context and "clients.import" not in client.session
    problem = response.context["plan"].problems[0]
    assert (problem.row, problem.column, problem.message) == (2, "设备编号", "设备编号应为12位数字，实际为“12345”")
    assert "设备编号应为12位数字" in response.content.decode()


@pytest.mark.django_db
def test_confirmation_writes_nothing_when_the_data_changed_after_the_preview(client, users):
    client.force_login(users["admin"])
    response = client.post("/clients/import/", {"file": _file(xlsx(ROWS), "客户.xlsx")})
    make_client(taxpayer_id=ID2, name="别人刚建的客户", taxpayer_kind="general")
    response = client.post("/clients/import/confirm/", {"token": response.context["token"]})
    assert "预览之后数据已有变化" in response.content.decode()
    assert Client.objects.count() == 1 and not Device.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["owner", "readonly"])
def test_import_pages_are_for_admins_only(client, users, role):
    client.force_login(users[role])
    assert client.get("/clients/import/").status_code == 403
    assert client.post("/clients/import/", {"file": _file(xlsx(ROWS), "a.xlsx")}).status_code == 403
    assert client.get("/clients/import/template.xlsx").status_code == 403
    assert not Client.objects.exists()
