"""The returns upload reads Excel streamed, with limits checked while reading: a zip bomb, a
sheet of endless rows or a giant cell is refused within a second and a few megabytes."""

import io
import time
import tracemalloc
import zipfile

import pytest
from django.utils import translation
from openpyxl import Workbook

from apps.scheduling import returns_upload
from apps.scheduling.returns_upload import UploadError, read_table

pytestmark = pytest.mark.security
HEADER = (
    '<row r="1"><c r="A1" t="inlineStr"><is><t>纳税人识别号</t></is></c>'
    '<c r="B1" t="inlineStr"><is><t>所属月份</t></is></c><c r="C1" t="inlineStr"><is><t>申报日期</t></is></c></row>'
)
SHEET_START = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    b'<dimension ref="A1:XFD1048576"/><sheetData>'
)


def xlsx_with_sheet(rows_xml_chunks) -> bytes:
    """A real workbook whose first sheet's rows are `rows_xml_chunks`, written streamed and deflated."""
    template = io.BytesIO()
    Workbook().save(template)
    out = io.BytesIO()
    with zipfile.ZipFile(template) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            if item.filename == "xl/worksheets/sheet1.xml":
                with target.open(item.filename, "w", force_zip64=True) as sheet:
                    sheet.write(SHEET_START)
                    for chunk in rows_xml_chunks:
                        sheet.write(chunk)
                    sheet.write(b"</sheetData></worksheet>")
            else:
                target.writestr(item, source.read(item.filename))
    return out.getvalue()


def refused_quickly(data: bytes) -> str:
    with translation.override("zh-hans"):
        return _refused_quickly(data)


def _refused_quickly(data: bytes) -> str:
    started = time.perf_counter()
    with pytest.raises(UploadError) as refused:
        read_table("申报.xlsx", data)
    elapsed = time.perf_counter() - started
    tracemalloc.start()  # measured apart: tracing slows the reading several times
    try:
        with pytest.raises(UploadError):
            read_table("申报.xlsx", data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert elapsed < 1.0, f"{elapsed:.2f} s"
    assert peak < 8 * 1024 * 1024, f"{peak / 2**20:.1f} MB"
    return str(refused.value)


def test_a_zip_bomb_is_refused_within_a_second_and_a_few_megabytes():
    row = b'<row><c t="inlineStr"><is><t>' + b"9" * 200 + b"</t></is></c></row>"
    bomb = xlsx_with_sheet(row * 10_000 for _ in range(40))  # ~90 MB of sheet in a small file
    assert len(bomb) < returns_upload.MAX_BYTES
    assert "解压后过大" in refused_quickly(bomb)


def test_a_sheet_of_endless_rows_is_refused_while_reading():
    # Small enough unpacked to pass the size check, and it claims a million rows and columns.
    rows = (f'<row r="{n}"><c r="A{n}"><v>{n}</v></c></row>'.encode() for n in range(2, 200_000))
    data = xlsx_with_sheet([HEADER.encode(), *rows])
    assert "数据行过多" in refused_quickly(data)


def test_a_row_far_down_the_sheet_does_not_make_a_million_empty_rows():
    data = xlsx_with_sheet([HEADER.encode(), b'<row r="1048576"><c r="A1048576"><v>1</v></c></row>'])
    assert "数据行过多" in refused_quickly(data)


def test_a_giant_cell_is_refused_while_reading():
    giant = b'<row r="2"><c r="A2" t="inlineStr"><is><t>' + b"x" * 1_000_000 + b"</t></is></c></row>"
    assert "单元格内容过长" in refused_quickly(xlsx_with_sheet([HEADER.encode(), giant]))
