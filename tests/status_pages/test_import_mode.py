"""The invoicing mode in the client import (issue 28): the template has the two columns, a bad value
is a Chinese error by row and column that writes nothing, and a change is recorded from its month
through modes.set_invoicing_mode, audited as the client page's 设置开票方式 (and retiring the devices
of a client going 数电, those of the same file included). On the code before, the columns were
ignored."""

import datetime as dt
import io

import pytest
from openpyxl import load_workbook

from apps.audit.models import AuditEvent
from apps.clients.models import Client, InvoicingMode
from apps.devices.models import Health
from tests.factories import credit_code, make_client
from tests.status_pages.test_import import API, state, upload, xlsx

pytestmark = pytest.mark.django_db
HEADER = ["纳税人识别号", "客户名称", "纳税人类型", "设备类型", "设备编号", "开票方式", "开票方式起始月份"]
ID1, ID2 = credit_code(9201), credit_code(9202)


def test_the_template_has_the_mode_columns(api):
    book = load_workbook(io.BytesIO(api.get(f"{API}template/?format=xlsx").content))
    headers = [c.value for c in book.worksheets[0][2]]
    assert {"开票方式", "开票方式起始月份"} <= set(headers)
    notes = {row[0]: row[1] for row in book["填写说明"].iter_rows(min_row=3, values_only=True)}
    assert "数电" in notes["开票方式"] and "YYYY-MM" in notes["开票方式起始月份"]


def test_bad_mode_cells_are_refused_by_row_and_column_and_write_nothing(api):
    make_client(taxpayer_id=ID2, name="已有乙")
    rows = [
        [ID1, "甲公司", "一般纳税人", "", "", "电子", "2026-11"],
        [ID2, "", "", "", "", "数电", "十一月"],
        [credit_code(9203), "丙公司", "一般纳税人", "", "", "数电", ""],
        [credit_code(9204), "丁公司", "一般纳税人", "", "", "", "2026-13"],
    ]
    before = state()
    response = upload(api, xlsx(rows, HEADER), dry_run="false")
    assert response.status_code == 400
    errors = {(e["row"], e["column"]): e["message"] for e in response.json()["errors"]}
    assert errors[(2, "开票方式")] == "开票方式“电子”无法识别，应为：税控、数电、双轨"
    assert errors[(3, "开票方式起始月份")] == "开票方式起始月份“十一月”无法识别，应为 YYYY-MM，如 2026-11"
    assert errors[(4, "开票方式起始月份")] == "开票方式与开票方式起始月份须同时填写"
    assert "无法识别" in errors[(5, "开票方式起始月份")]
    assert state() == before and not AuditEvent.objects.filter(action="client.invoicing_mode").exists()


def test_a_mode_is_set_from_its_month_audited_and_retires_the_devices(api, users):
    existing = make_client(taxpayer_id=ID2, name="已有乙")
    rows = [
        [ID1, "甲公司", "一般纳税人", "税控盘", "539920000001", "数电", "2026/12"],
        [ID2, "", "", "", "", "双轨", "2026年11月"],
    ]
    preview = upload(api, xlsx(rows, HEADER)).json()
    shown = {i["key"]: i["changes"] for i in preview["created"] + preview["updated"] if i["object"] == "client"}
    assert shown[ID1]["开票方式"]["after"] == "数电（2026-12 起）"
    assert shown[ID2]["开票方式"] == {"before": "税控", "after": "双轨（2026-11 起）"}
    assert upload(api, xlsx(rows, HEADER), dry_run="false").json()["written"] is True
    first = Client.objects.get(taxpayer_id=ID1)
    assert first.invoicing_mode(dt.date(2026, 11, 1)) == InvoicingMode.TAX_CONTROL
    assert first.invoicing_mode(dt.date(2027, 3, 1)) == InvoicingMode.DIGITAL
    assert existing.invoicing_mode(dt.date(2026, 11, 1)) == InvoicingMode.DUAL
    device = first.devices.get()  # created by the same file, then retired with the switch
    assert (device.health, device.retired_from) == (Health.RETIRED, dt.date(2026, 12, 1))
    events = AuditEvent.objects.filter(action="client.invoicing_mode").order_by("id")
    assert [e.after for e in events] == [
        {"mode": "digital", "from_month": "2026-12"},
        {"mode": "dual", "from_month": "2026-11"},
    ]
    assert all(e.actor_user == users["admin"] for e in events)
    assert not AuditEvent.objects.filter(action="client.updated").exists()  # the mode alone changed 乙
    again = upload(api, xlsx(rows, HEADER), dry_run="false").json()  # re-importing changes nothing
    assert again["written"] is False and AuditEvent.objects.filter(action="client.invoicing_mode").count() == 2
