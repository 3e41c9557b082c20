"""Issue 30: every xlsx Qingka writes is a spreadsheet a person can use. Each one is downloaded
here and opened with openpyxl: a bold title row saying what it is, for whom and when; a bold
header row frozen under it; columns fitted to their content; times, dates and amounts as real
cells with number formats; sheet names in Chinese."""

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from apps.audit import log
from apps.audit.models import Action
from apps.core import export
from apps.invoices.models import Invoice
from apps.jobs.models import Job, JobKind, JobState
from apps.periods.models import Period
from tests.factories import make_client, make_device

NOW = timezone.make_aware(dt.datetime(2026, 11, 10, 10, 0))
LONG_NAME = "南京长长长长长长长长长长长长科技有限公司"


@pytest.fixture
def world(users):
    client = make_client(name=LONG_NAME, staff=users["owner"])
    device = make_device(client, number="539912237528")
    Period.objects.create(client=client, month=dt.date(2026, 10, 1), deadline=dt.date(2026, 11, 16))
    job = Job.objects.create(
        kind=JobKind.UPLOAD_SUMMARY,
        device=device,
        state=JobState.FAILED,
        error_code="UPLOAD_OVERDUE",
        finished_at=NOW,
    )
    Invoice.objects.create(
        device=device,
        kind="004",
        code="3200261130",
        number="00000001",
        issued_at=NOW - dt.timedelta(days=3),
        amount=Decimal("12345.60"),
        tax=Decimal("1604.93"),
        buyer="上海丙有限公司",
        uploaded=True,
        reported_by=job,
        first_reported_at=NOW,
        reported_at=NOW,
    )
    log.record(Action.CLIENT_UPDATED, client, user=users["admin"], after={"notes": "备注"})
    return {"client": client, "device": device, "job": job}


# (url, query, the words its title row begins with, a header with a date or time, a money header)
WORKBOOKS = [
    ("/reports/month-end/", {"month": "2026-10", "export": "xlsx"}, "2026年10月所属期 月结报告", "申报截止日", None),
    ("/clients/", {"export": "xlsx"}, "客户", None, None),
    ("/attention/", {"export": "xlsx"}, "需要处理", None, None),
    ("/audit/", {"export": "xlsx"}, "操作日志", "时间", None),
    ("/jobs/", {"export": "xlsx"}, "任务", "结束时间", None),
    ("/invoices/", {"number": "00000001", "export": "xlsx"}, "发票查询", "开票时间", "金额"),
    ("/", {"export": "xlsx", "month": "2026-10"}, "", None, None),
    ("/clients/import/template.xlsx", {}, "客户与设备导入模板", None, None),
    ("/bulk/returns/template.xlsx", {}, "申报记录", None, None),
]


def _shown_width(cell) -> int:
    """openpyxl reads a date cell back as a datetime; it shows as its format does."""
    return 10 if cell.number_format == export.DATE_FORMAT else export.display_width(cell.value)


def _is_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


@pytest.mark.django_db
@pytest.mark.parametrize(("url", "query", "title", "time_header", "money_header"), WORKBOOKS)
def test_every_workbook(as_role, world, url, query, title, time_header, money_header, nov10):
    response = as_role("admin").get(url, query)
    assert response.status_code == 200, url
    assert response["Content-Type"].startswith("application/vnd.openxmlformats"), url
    book = load_workbook(io.BytesIO(response.content))
    for sheet in book.worksheets:
        assert _is_chinese(sheet.title), sheet.title
        head = sheet["A1"]
        assert head.font.bold and head.value.startswith(title), head.value
        assert "导出时间：2026-11-10" in head.value
        headers = [c for c in sheet[2] if c.value not in (None, "")]
        assert headers and all(c.font.bold for c in headers), url
        assert sheet.freeze_panes == "A3", url
        for index, header in enumerate(headers, start=1):
            letter = header.column_letter
            width = sheet.column_dimensions[letter].width
            assert width and width >= export.display_width(header.value), (url, header.value, width)
            longest = max(
                (
                    _shown_width(c)
                    for (c,) in sheet.iter_rows(min_row=3, min_col=index, max_col=index)
                    if c.value is not None
                ),
                default=0,
            )
            assert width >= min(longest, export.MAX_WIDTH - 2), (url, header.value, width, longest)
    first = book.worksheets[0]
    if not url.endswith("template.xlsx") and url != "/attention/":
        assert "导出人：管理员甲" in first["A1"].value
    names = {c.value: c.column for c in first[2]}
    if time_header:
        sheet = book["客户明细"] if "客户明细" in book.sheetnames else first
        names = {c.value: c.column for c in sheet[2]}
        cells = [row[0] for row in sheet.iter_rows(min_row=3, min_col=names[time_header], max_col=names[time_header])]
        assert cells and all(isinstance(c.value, dt.datetime) for c in cells if c.value), url
        assert all(c.number_format in (export.DATE_FORMAT, export.DATETIME_FORMAT) for c in cells if c.value), url
    if money_header:
        (cell,) = next(first.iter_rows(min_row=3, min_col=names[money_header], max_col=names[money_header]))
        assert cell.value == pytest.approx(12345.6) and cell.number_format == export.MONEY_FORMAT


def test_the_long_name_widens_its_column_and_a_huge_one_is_capped():
    body = export.xlsx_bytes([export.Sheet("表", ["名称", "备注"], [[LONG_NAME, "x" * 500]])], for_whom="会计乙")
    sheet = load_workbook(io.BytesIO(body)).active
    assert sheet.column_dimensions["A"].width >= export.display_width(LONG_NAME)
    assert sheet.column_dimensions["B"].width == export.MAX_WIDTH
    assert "导出人：会计乙" in sheet["A1"].value


@pytest.mark.django_db
def test_the_month_picker_shows_the_month_it_is_for(as_role, nov10):
    page = as_role("admin").get("/reports/month-end/").content.decode()
    assert 'value="2026-10"' in page
