"""Bidirectional overrides and zero-width characters never reach what people read: "南京‮甲"
could show a name reversed, and "甲\u200b公司" a name that looks like another. They are dropped
from text stored by the site's models (forms, API, import), from every page and from every
CSV and XLSX export, where the formula guard still holds on what is left."""

import csv
import io

import pytest
from openpyxl import load_workbook

from apps.clients.models import Client
from apps.core import export
from apps.core.text import INVISIBLE, visible
from apps.devices.models import Device
from tests.factories import credit_code, make_client, make_device

pytestmark = [pytest.mark.security, pytest.mark.django_db]
TYPED = "南京\u202e甲\u200b科技\u2066有限\u200d公司\ufeff"
SHOWN = "南京甲科技有限公司"
FORMULA = '\u202e=HYPERLINK("http://evil","甲")\u200b'


def as_typed(client: Client, **fields) -> None:
    """Stores the fields as they are, the way a bulk write or an older version could have."""
    Client.objects.filter(pk=client.pk).update(**fields)


def test_visible_drops_what_reorders_or_hides_text_and_keeps_the_rest():
    assert visible(TYPED) == SHOWN
    hidden = "".join(map(chr, [*range(0x202A, 0x202F), *range(0x2066, 0x206A), *range(0x200B, 0x2010), 0x2060]))
    assert visible(hidden + "\ufeff\u00ad\U000e0041") == ""
    kept = "e\u0301 a\u00a0b 中文（全角）\n\t0x20"
    assert visible(kept) == kept


def test_pages_show_stored_names_and_notes_without_them(client, users):
    shown = make_client(staff=users["owner"])
    as_typed(shown, name=TYPED, notes="发票\u202egnp.exe")
    client.force_login(users["owner"])
    for url in ("/clients/", f"/clients/{shown.pk}/"):
        page = client.get(url).content.decode()
        assert SHOWN in page, url
        assert not INVISIBLE.search(page), url
    assert "发票gnp.exe" in page


def test_exports_drop_them_and_the_formula_guard_holds_on_what_is_left(client, users):
    exported = make_client(staff=users["owner"])
    as_typed(exported, name=FORMULA, notes=TYPED)
    client.force_login(users["owner"])
    sheet = load_workbook(io.BytesIO(client.get("/clients/", {"export": "xlsx"}).content)).active
    cells = [cell for row in sheet.iter_rows(min_row=3) for cell in row if isinstance(cell.value, str)]
    assert not any(INVISIBLE.search(cell.value) for cell in cells)
    name = next(cell for cell in cells if "HYPERLINK" in cell.value)
    assert name.value == '=HYPERLINK("http://evil","甲")' and name.data_type == "s" and name.quotePrefix
    body = client.get("/clients/", {"export": "csv"}).content.decode("utf-8-sig")
    assert not INVISIBLE.search(body)
    assert """'=HYPERLINK(""http://evil"",""甲"")""" in body
    assert export.cell(TYPED) == SHOWN
    rows = list(csv.reader(io.StringIO(export.csv_bytes(["名称"], [[FORMULA]]).decode("utf-8-sig"))))
    assert rows[1] == ["'" + visible(FORMULA)]


def test_text_typed_into_the_api_or_an_import_is_stored_without_them(api, users):
    body = {"name": TYPED, "taxpayer_id": credit_code(9301), "taxpayer_kind": "general", "notes": "\u200b备\u202e注"}
    response = api.post("/api/v1/clients/", body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["name"] == SHOWN
    assert Client.objects.values_list("name", "notes").get(pk=response.json()["id"]) == (SHOWN, "备注")
    rows = f"纳税人识别号,客户名称,纳税人类型\r\n{credit_code(9302)},\u202e乙\u200b贸易有限公司,小规模纳税人\r\n"
    upload = {"file": _file(rows.encode(), "客户.csv"), "dry_run": "false"}
    assert api.post("/api/v1/clients/import/", upload, format="multipart").status_code == 200
    assert Client.objects.get(taxpayer_id=credit_code(9302)).name == "乙贸易有限公司"


def test_a_secret_is_kept_as_typed():
    device = make_device(certificate_password="pw\u200b1\u202e")
    assert Device.objects.get(pk=device.pk).certificate_password == "pw\u200b1\u202e"


def _file(data, name):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data)


def test_a_name_that_differs_only_by_them_is_refused_as_taken(client, users):
    """The uniqueness check sees the name as it will be stored: a clear error, not a 500."""
    from apps.devices.models import Agent

    Agent.objects.create(name="甲")
    boss = users["admin"]
    boss.is_staff = boss.is_superuser = True
    boss.save()
    client.force_login(boss)
    data = {"name": "甲\u200b", "enabled": "on", "health": "good"}
    data |= {"inventory-TOTAL_FORMS": "0", "inventory-INITIAL_FORMS": "0"}  # the inventory inline
    response = client.post("/admin/devices/agent/add/", data)
    assert response.status_code == 200
    assert "已存在" in response.text
    assert Agent.objects.count() == 1
