"""Uploaded tables are read within limits checked while reading."""

import datetime as dt
import io
import zipfile

import pytest
from openpyxl import Workbook

from apps.core.spreadsheet import Limits, TableError, column_letter, read_table


def xlsx(rows) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_reads_xlsx_and_csv_in_utf8_or_gbk():
    rows = [["客户名称", "纳税人识别号"], ["南京甲公司", "91320100MA0000017H"]]
    assert read_table("a.xlsx", xlsx(rows)) == rows
    text = "客户名称,纳税人识别号\r\n南京甲公司,91320100MA0000017H\r\n"
    assert read_table("a.csv", text.encode("gbk")) == rows
    assert read_table("a.CSV", "\ufeff".encode() + text.encode()) == rows


def test_blank_rows_are_kept_so_row_numbers_match_the_file():
    rows = read_table("a.csv", b"a,b\n\n1,2\n")
    assert rows == [["a", "b"], [], ["1", "2"]]


@pytest.mark.parametrize(
    "name, data, message",
    [
        ("a.xls", b"x", ".xls"),
        ("a.txt", b"x", ".xlsx 或 .csv"),
        ("a.xlsx", b"not a zip", "无法读取该Excel文件"),
        ("a.csv", b"", "文件是空的"),
        ("a.csv", "名称".encode("utf-16"), "编码"),
    ],
)
def test_unreadable_files_are_refused_with_a_reason(name, data, message):
    with pytest.raises(TableError, match=message):
        read_table(name, data)


def test_size_row_and_cell_limits_are_checked_while_reading():
    limits = Limits(max_bytes=10_000, max_rows=3, max_cell_chars=5)
    with pytest.raises(TableError, match="文件过大"):
        read_table("a.csv", b"x" * 10_001, limits)
    with pytest.raises(TableError, match="超过 3 行"):
        read_table("a.xlsx", xlsx([["a"], [], ["b"], ["c"]]), limits)
    with pytest.raises(TableError, match="第 2 行 B 列内容过长"):
        read_table("a.csv", b"a,b\n1,123456\n", limits)
    with pytest.raises(TableError, match="第 2 行 B 列内容过长"):
        read_table("a.xlsx", xlsx([["a", "b"], [1, "123456"]]), limits)


def test_columns_beyond_the_limit_are_not_read():
    assert read_table("a.csv", b"a,b,c\n", Limits(max_columns=2)) == [["a", "b"]]


def test_a_zip_that_unpacks_too_large_is_refused_before_reading():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/sharedStrings.xml", "0" * 2_000_000)
    with pytest.raises(TableError, match="解压后过大"):
        read_table("bomb.xlsx", out.getvalue(), Limits(max_unpacked_bytes=1_000_000))


def test_column_letters():
    assert [column_letter(n) for n in (1, 26, 27, 52, 703)] == ["A", "Z", "AA", "AZ", "AAA"]


def test_cells_are_counted_per_row_and_per_sheet_while_reading():
    limits = Limits(max_row_cells=3, max_cells=7)
    assert read_table("a.csv", b'a,b,c\n"x\ny",b,c\n', limits) == [["a", "b", "c"], ["x\ny", "b", "c"]]
    with pytest.raises(TableError, match=r"第 2 行单元格过多（上限 3 个）"):
        read_table("a.csv", b'a\n"x\ny",b,c,\n', limits)  # blank cells count, on every line of the row
    with pytest.raises(TableError, match=r"第 1 行单元格过多（上限 3 个）"):
        read_table("a.xlsx", xlsx([[1, 2, 3, 4]]), limits)
    with pytest.raises(TableError, match=r"表格单元格过多（上限 7 个）"):
        read_table("a.csv", b"a,b\n" * 4, limits)
    with pytest.raises(TableError, match=r"表格单元格过多（上限 7 个）"):
        read_table("a.xlsx", xlsx([[1, 2]] * 4), limits)


def test_xlsx_cells_keep_their_types_and_rows_left_out_of_the_file_are_blank():
    book = Workbook()
    book.active["A1"] = "名称"
    book.active["B1"] = dt.datetime(2026, 11, 5)
    book.active["C1"] = 12.5
    book.active["D1"] = "=1+1"
    book.active["B3"] = True
    out = io.BytesIO()
    book.save(out)
    assert read_table("a.xlsx", out.getvalue()) == [["名称", dt.datetime(2026, 11, 5), 12.5], [], [None, True]]
