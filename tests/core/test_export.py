"""Every export: formula injection neutralised, any character survives, files open back."""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from apps.audit import log
from apps.core import export
from apps.jobs.models import Job, JobKind, JobState
from tests.factories import make_client, make_device

DANGEROUS = ["=1+1", "+1", "-1+2", "@SUM(A1:A2)", "\t=x", '=HYPERLINK("http://x","点我")']


def read_xlsx(body: bytes, sheet=None):
    book = load_workbook(io.BytesIO(body))
    return book[sheet] if sheet else book.active


def read_csv(body: bytes) -> list[list[str]]:
    assert body.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))


def test_formula_like_text_is_text_in_xlsx():
    body = export.xlsx_bytes([export.Sheet("表", ["值"], [[value] for value in DANGEROUS])])
    cells = [row[0] for row in read_xlsx(body).iter_rows(min_row=3)]
    assert [c.value for c in cells] == [export.cell(v) for v in DANGEROUS]  # the text itself, no apostrophe
    assert all(c.data_type == "s" and c.quotePrefix for c in cells)


def test_formula_like_text_is_quoted_in_csv():
    values = [*DANGEROUS, "\r=x"]
    rows = read_csv(export.csv_bytes(["值"], [[value] for value in values]))
    assert [row[0] for row in rows[1:]] == ["'" + v for v in values]


def test_numbers_dates_and_plain_text_stay_what_they_are():
    row = [-5, Decimal("-1.50"), dt.date(2026, 11, 16), "南京甲科技有限公司", True, None]
    sheet = read_xlsx(export.xlsx_bytes([export.Sheet("表", list("ABCDEF"), [row])]))
    cells = list(sheet.iter_rows(min_row=3))[0]
    assert [c.value for c in cells[:5]] == [-5, -1.5, dt.datetime(2026, 11, 16), "南京甲科技有限公司", "是"]
    assert not cells[3].quotePrefix and cells[0].data_type == "n"
    written = read_csv(export.csv_bytes(list("ABCDEF"), [row]))[1]
    assert written == ["-5", "-1.50", "2026-11-16", "南京甲科技有限公司", "是", ""]


def test_any_character_survives():
    nasty = "a\x00b\x07c\x1b[31md\ufffee\uffff\ud800f\x0bg\x0ch\n\ti\x7f"
    body = export.xlsx_bytes([export.Sheet("控制\x01字符", ["名称"], [[nasty], ["x" * 40000]])])
    sheet = read_xlsx(body)
    assert sheet.title == "控制␁字符"
    assert sheet["A3"].value == "a␀b␇c␛[31md\ufffde\ufffd\ufffdf␋g␌h\n\ti\x7f"
    assert len(sheet["A4"].value) == export.MAX_CELL_CHARS and sheet["A4"].value.endswith("…")
    assert read_csv(export.csv_bytes(["名称"], [[nasty]]))[1] == [sheet["A3"].value]


def test_text_columns_are_formatted_as_text():
    body = export.xlsx_bytes([export.Sheet("模板", ["设备编号"], [], text_columns=(0,))])
    assert load_workbook(io.BytesIO(body)).active.column_dimensions["A"].number_format == "@"


@pytest.fixture
def poisoned(users):
    client = make_client(name='=HYPERLINK("http://evil","甲")\x07公司', staff=users["owner"])
    device = make_device(client)
    Job.objects.create(
        kind=JobKind.CLEAR,
        device=device,
        state=JobState.FAILED,
        attempts=1,
        error_code="DRIVER_ERROR",
        error_message="@cmd|' /C calc'!A0\x01\x1f",  # PostgreSQL holds no NUL
    )
    log.record("client.updated", client, before={"notes": "-1"}, after={"notes": "+2\x02"})
    return client


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/jobs/", "/audit/"])
def test_list_page_exports_open_back_with_poisoned_text(client, users, poisoned, url):
    client.force_login(users["owner"])
    sheet = read_xlsx(client.get(url, {"export": "xlsx"}).content)
    rows = list(sheet.iter_rows(min_row=3))
    assert rows, "the owner's rows are exported"
    texts = [c for row in rows for c in row if isinstance(c.value, str)]
    names = [c for c in texts if c.value.startswith("=HYPERLINK")]
    assert names and all(c.data_type == "s" and c.quotePrefix for c in names)
    assert names[0].value == '=HYPERLINK("http://evil","甲")␇公司'
    assert not any(c.data_type == "f" for row in rows for c in row)
    csv_rows = read_csv(client.get(url, {"export": "csv"}).content)
    assert any(value == "'" + names[0].value for row in csv_rows for value in row)
