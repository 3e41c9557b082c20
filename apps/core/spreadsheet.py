"""An uploaded table (.xlsx or .csv) read within limits that are checked while reading, so a
huge, deeply compressed or malformed file is refused early instead of filling memory.

.xlsx goes through openpyxl in read-only mode (rows are streamed from the sheet's XML) after its
zip directory has shown the unpacked size; .csv is UTF-8 (with or without BOM) or GBK. Messages
are in Chinese and name the row and the column (A, B, … as a spreadsheet shows them)."""

import csv
import io
import zipfile
from dataclasses import dataclass

from django.utils.translation import gettext as _


class TableError(Exception):
    """The file as a whole cannot be read; the message says why, for the person who uploaded it."""


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 2 * 1024 * 1024
    max_unpacked_bytes: int = 50 * 1024 * 1024  # an .xlsx is a zip: what it unpacks to
    max_rows: int = 5001  # rows read, the header and blank rows included
    max_columns: int = 50  # columns further right are not read
    max_cell_chars: int = 1000


def column_letter(index: int) -> str:
    """1 → A, 27 → AA."""
    letters = ""
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def read_table(name: str, data: bytes, limits: Limits = Limits()) -> list[list]:
    """Every row of the first sheet (or of the CSV file) as a list of values, blank rows kept so
    that row n of the file is item n − 1. Raises TableError."""
    if len(data) > limits.max_bytes:
        raise TableError(_("文件过大（上限 %(n)d KB），请分批上传") % {"n": limits.max_bytes // 1024})
    suffix = name.lower().rsplit(".", 1)[-1] if "." in name else ""
    if suffix == "xlsx":
        rows = _xlsx_rows(data, limits)
    elif suffix == "csv":
        rows = _csv_rows(data, limits)
    elif suffix == "xls":
        raise TableError(_("不支持旧版 .xls 文件，请在Excel中另存为 .xlsx 或 CSV"))
    else:
        raise TableError(_("仅支持 .xlsx 或 .csv 文件"))
    if not rows:
        raise TableError(_("文件是空的"))
    return rows


def _checked(rows: list, values, limits: Limits) -> list:
    """One more row, without its trailing blank cells; refused if the table is already long
    enough or a cell is too long."""
    if len(rows) >= limits.max_rows:
        raise TableError(_("表格超过 %(n)d 行（含表头和空行），请分批上传") % {"n": limits.max_rows})
    values = list(values)[: limits.max_columns]
    while values and values[-1] in (None, ""):  # read-only sheets pad rows to the widest one
        values.pop()
    for column, value in enumerate(values, start=1):
        if isinstance(value, str) and len(value) > limits.max_cell_chars:
            raise TableError(
                _("第 %(row)d 行 %(column)s 列内容过长（上限 %(n)d 个字符）")
                % {"row": len(rows) + 1, "column": column_letter(column), "n": limits.max_cell_chars}
            )
    return values


def _xlsx_rows(data: bytes, limits: Limits) -> list[list]:
    from openpyxl import load_workbook

    unreadable = _("无法读取该Excel文件，请确认它是 .xlsx 格式")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
    except zipfile.BadZipFile:
        raise TableError(unreadable) from None
    if unpacked > limits.max_unpacked_bytes:
        raise TableError(_("Excel文件解压后过大，请分批上传"))
    rows: list[list] = []
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            for values in book.worksheets[0].iter_rows(max_col=limits.max_columns, values_only=True):
                rows.append(_checked(rows, values, limits))
        finally:
            book.close()
    except TableError:
        raise
    except Exception:  # a corrupt or mislabelled file raises anything from zipfile to XML errors
        raise TableError(unreadable) from None
    return rows


def _csv_rows(data: bytes, limits: Limits) -> list[list]:
    for encoding in ("utf-8-sig", "gb18030"):  # GB18030 reads every GBK file
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise TableError(_("无法识别CSV文件的编码，请保存为UTF-8或GBK编码"))
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: list[list] = []
    try:
        for values in reader:
            rows.append(_checked(rows, values, limits))
    except csv.Error:
        raise TableError(_("CSV文件第 %(row)d 行格式不正确") % {"row": reader.line_num}) from None
    return rows
