"""Every upload (client import, filed returns) reads its file through apps/core/spreadsheet.py,
streamed, with limits checked while reading: a zip bomb, a sheet of endless rows, a giant cell
or one endless row (a few kilobytes zipped, millions of empty cells unpacked) is refused with a
Chinese message after reading no more than the limits allow. The bound is on the work done: the
bytes of sheet XML read and the memory held at the peak, not the time it took."""

import io
import tracemalloc
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation
from openpyxl import Workbook

from apps.clients.models import Client
from apps.core.spreadsheet import Limits, TableError, read_table
from apps.periods.models import Period
from apps.scheduling import returns_upload
from apps.scheduling.returns_upload import UploadError
from apps.status_pages import importing

pytestmark = pytest.mark.security
HEADER = (
    '<row r="1"><c r="A1" t="inlineStr"><is><t>纳税人识别号</t></is></c>'
    '<c r="B1" t="inlineStr"><is><t>所属月份</t></is></c><c r="C1" t="inlineStr"><is><t>申报日期</t></is></c></row>'
)
CSV_HEADER = "纳税人识别号,所属月份,申报日期\r\n".encode()
SHEET_START = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
)
CLAIMED_SIZE = b'<dimension ref="A1:XFD1048576"/>'
LIMITS = {"returns": returns_upload.LIMITS, "clients": importing.LIMITS}


def xlsx_with_sheet(rows_xml_chunks, dimension=CLAIMED_SIZE) -> bytes:
    """A real workbook whose first sheet's rows are `rows_xml_chunks`, written streamed and deflated."""
    template = io.BytesIO()
    Workbook().save(template)
    out = io.BytesIO()
    with zipfile.ZipFile(template) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            if item.filename == "xl/worksheets/sheet1.xml":
                with target.open(item.filename, "w", force_zip64=True) as sheet:
                    sheet.write(SHEET_START + dimension + b"<sheetData>")
                    for chunk in rows_xml_chunks:
                        sheet.write(chunk)
                    sheet.write(b"</sheetData></worksheet>")
            else:
                target.writestr(item, source.read(item.filename))
    return out.getvalue()


def sheet_size(data: bytes) -> int:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return archive.getinfo("xl/worksheets/sheet1.xml").file_size


@pytest.fixture
def sheet_bytes_read(monkeypatch):
    """The bytes of sheet XML that reading takes out of the zip, counted as they are read."""
    read = [0]
    original = zipfile.ZipFile.open

    def counting_open(archive, name, *args, **kwargs):
        opened = original(archive, name, *args, **kwargs)
        if getattr(name, "filename", name).startswith("xl/worksheets/"):
            read_part = opened.read

            def counted(n=-1):
                chunk = read_part(n)
                read[0] += len(chunk)
                return chunk

            opened.read = counted
        return opened

    monkeypatch.setattr(zipfile.ZipFile, "open", counting_open)
    return read


def refusal(upload: str, name: str, data: bytes) -> str:
    """Why the upload refuses the file as a whole (it reads nothing into the database either way)."""
    with translation.override("zh-hans"):
        if upload == "clients":
            problems = importing.plan(name, data).problems
            assert [(p.row, p.column) for p in problems] == [(None, None)], problems
            return problems[0].message
        with pytest.raises(UploadError) as refused:
            returns_upload.read_table(name, data)
        return str(refused.value)


def refused_within_bounds(upload: str, name: str, data: bytes, held: int) -> str:
    """The refusal, checked to have held at most `held` bytes of memory at its peak."""
    tracemalloc.start()
    try:
        message = refusal(upload, name, data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < held, f"{peak / 2**20:.1f} MB held"
    return message


# --- one endless row, in every upload ----------------------------------------------------------


@pytest.mark.parametrize("upload", ["returns", "clients"])
@pytest.mark.parametrize("dimension", [CLAIMED_SIZE, b""], ids=["sized", "unsized"])
def test_an_xlsx_row_of_endless_empty_cells_is_refused_at_the_cap(upload, dimension, sheet_bytes_read):
    # 400,000 cells (1.6 MB of XML, a few KB zipped); openpyxl's read-only sheet builds a whole
    # row before giving any of it, and without a <dimension> sizes the sheet by parsing it all.
    data = xlsx_with_sheet([HEADER.encode(), b'<row r="2">', b"<c/>" * 400_000, b"</row>"], dimension)
    assert len(data) < 20_000
    message = refused_within_bounds(upload, "表.xlsx", data, held=4 * 2**20)
    assert message == f"第 2 行单元格过多（上限 {LIMITS[upload].max_row_cells} 个），请删除多余的列后重新上传"
    assert sheet_bytes_read[0] < 5 * LIMITS[upload].max_row_cells + 64 * 1024 < sheet_size(data) / 10


@pytest.mark.parametrize("upload", ["returns", "clients"])
def test_a_csv_row_of_endless_empty_cells_is_refused_before_it_is_split(upload):
    data = CSV_HEADER + b"," * (LIMITS[upload].max_bytes - len(CSV_HEADER))
    # Decoding the text takes up to three times the file (UTF-8 to UCS-2); no list of a million cells.
    message = refused_within_bounds(upload, "表.csv", data, held=4 * len(data))
    assert message == f"第 2 行单元格过多（上限 {LIMITS[upload].max_row_cells} 个），请删除多余的列后重新上传"


def test_elements_that_are_no_cells_count_against_the_sheet(sheet_bytes_read):
    limits = Limits(max_rows=10, max_cells=100)  # at most 4 × (10 + 100) elements
    data = xlsx_with_sheet([b'<row r="1">', b"<x/>" * 1_000_000, b"</row>"])
    with pytest.raises(TableError, match="Excel文件内容过多"):
        read_table("表.xlsx", data, limits)
    assert sheet_bytes_read[0] < 64 * 1024


@pytest.mark.django_db
def test_pages_refuse_an_endless_row_in_chinese_and_change_nothing(client, users):
    row = [HEADER.encode(), b'<row r="2">', b"<c/>" * 100_000, b"</row>"]
    clients, periods = Client.objects.count(), Period.objects.count()
    client.force_login(users["owner"])  # a 会计 may upload filed returns
    page = client.post("/bulk/returns/", {"file": SimpleUploadedFile("申报.xlsx", xlsx_with_sheet(row))})
    assert f"第 2 行单元格过多（上限 {LIMITS['returns'].max_row_cells} 个）" in page.content.decode()
    client.force_login(users["admin"])
    page = client.post("/clients/import/", {"file": SimpleUploadedFile("客户.xlsx", xlsx_with_sheet(row))})
    assert f"第 2 行单元格过多（上限 {LIMITS['clients'].max_row_cells} 个）" in page.content.decode()
    assert "token" not in page.context
    assert (Client.objects.count(), Period.objects.count()) == (clients, periods)


# --- the other shapes of a huge file (returns upload) ------------------------------------------


def test_a_zip_bomb_is_refused_before_the_sheet_is_read(sheet_bytes_read):
    row = b'<row><c t="inlineStr"><is><t>' + b"9" * 200 + b"</t></is></c></row>"
    bomb = xlsx_with_sheet(row * 10_000 for _ in range(6))  # ~14 MB of sheet in a small file
    assert len(bomb) < returns_upload.LIMITS.max_bytes
    assert "解压后过大" in refused_within_bounds("returns", "申报.xlsx", bomb, held=8 * 2**20)
    assert sheet_bytes_read[0] == 0


def test_a_sheet_of_endless_rows_is_refused_at_the_row_cap(sheet_bytes_read):
    # Small enough unpacked to pass the size check, and it claims a million rows and columns.
    rows = [f'<row r="{n}"><c r="A{n}"><v>{n}</v></c></row>'.encode() for n in range(2, 40_000)]
    data = xlsx_with_sheet([HEADER.encode(), *rows])
    message = refused_within_bounds("returns", "申报.xlsx", data, held=8 * 2**20)
    assert message == "表格超过 10000 行（含表头和空行），请分批上传"
    read_rows = sum(len(row) for row in rows[: returns_upload.LIMITS.max_rows])
    assert sheet_bytes_read[0] < read_rows + 64 * 1024 < sheet_size(data) / 3


def test_a_row_far_down_the_sheet_does_not_make_a_million_empty_rows():
    data = xlsx_with_sheet([HEADER.encode(), b'<row r="1048576"><c r="A1048576"><v>1</v></c></row>'])
    assert "表格超过 10000 行" in refused_within_bounds("returns", "申报.xlsx", data, held=8 * 2**20)


def test_a_giant_cell_is_refused_while_reading():
    giant = b'<row r="2"><c r="A2" t="inlineStr"><is><t>' + b"x" * 1_000_000 + b"</t></is></c></row>"
    data = xlsx_with_sheet([HEADER.encode(), giant])
    assert "第 2 行 A 列内容过长" in refused_within_bounds("returns", "申报.xlsx", data, held=8 * 2**20)
