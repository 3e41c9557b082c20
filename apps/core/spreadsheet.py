"""An uploaded table (.xlsx or .csv) read within limits that are checked while reading, so a
huge, deeply compressed or malformed file is refused early instead of filling memory. Every
upload (client import, filed returns) reads its file here, with limits of its own.

.xlsx: the zip directory must first show an acceptable unpacked size; openpyxl then reads the
workbook's shared strings and styles, and the first sheet's XML is streamed here element by
element, each let go once read (openpyxl's read-only sheet would build a whole row, however
wide, before giving any of it, and without a <dimension> element the whole sheet). Cells are
counted as they open, per row and per sheet, so an endless row stops at the cap. .csv is UTF-8
(with or without BOM) or GBK; its lines are counted likewise before a row is split into cells.
Text is read without the characters that reorder or hide it (apps/core/text.py). Messages are
in Chinese and name the row and the column (A, B, … as a spreadsheet shows them)."""

import csv
import io
import re
import zipfile
from dataclasses import dataclass

from django.utils.translation import gettext as _

from apps.core.text import visible

_LINE = re.compile(r"[^\r\n]*(?:\r\n?|\n)|[^\r\n]+")
PARTS_PER_CELL = 4  # XML elements a sheet may hold per row and cell it may hold: <c><v>, <c><is><t>, rich text


class TableError(Exception):
    """The file as a whole cannot be read; the message says why, for the person who uploaded it."""


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 2 * 1024 * 1024
    max_unpacked_bytes: int = 50 * 1024 * 1024  # an .xlsx is a zip: what it unpacks to
    max_rows: int = 5001  # rows read, the header and blank rows included
    max_columns: int = 50  # columns further right are not kept
    max_cell_chars: int = 1000
    max_row_cells: int = 1000  # cells one row may hold, blank ones and those right of max_columns too
    max_cells: int = 250_000  # cells the whole sheet may hold, likewise


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


class _Counter:
    """Cells read so far, in the sheet and in its current row, refused past the limits."""

    def __init__(self, limits: Limits):
        self.limits = limits
        self.in_sheet = self.in_row = 0

    def add(self, cells: int, row: int) -> None:
        self.in_sheet += cells
        self.in_row += cells
        if self.in_row > self.limits.max_row_cells:
            raise TableError(
                _("第 %(row)d 行单元格过多（上限 %(n)d 个），请删除多余的列后重新上传")
                % {"row": row, "n": self.limits.max_row_cells}
            )
        if self.in_sheet > self.limits.max_cells:
            raise TableError(_("表格单元格过多（上限 %(n)d 个），请分批上传") % {"n": self.limits.max_cells})


def _checked(rows: list, values, limits: Limits) -> list:
    """One more row, without its trailing blank cells and with its text visible (apps/core/text.py);
    refused if the table is already long enough or a cell is too long."""
    if len(rows) >= limits.max_rows:
        raise TableError(_("表格超过 %(n)d 行（含表头和空行），请分批上传") % {"n": limits.max_rows})
    values = [visible(value) if isinstance(value, str) else value for value in values[: limits.max_columns]]
    while values and values[-1] in (None, ""):
        values.pop()
    for column, value in enumerate(values, start=1):
        if isinstance(value, str) and len(value) > limits.max_cell_chars:
            raise TableError(
                _("第 %(row)d 行 %(column)s 列内容过长（上限 %(n)d 个字符）")
                % {"row": len(rows) + 1, "column": column_letter(column), "n": limits.max_cell_chars}
            )
    return values


def _xlsx_rows(data: bytes, limits: Limits) -> list[list]:
    from openpyxl.reader.excel import ExcelReader
    from openpyxl.styles.stylesheet import apply_stylesheet
    from openpyxl.worksheet._reader import WorkSheetParser

    unreadable = _("无法读取该Excel文件，请确认它是 .xlsx 格式")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError):
        raise TableError(unreadable) from None
    if unpacked > limits.max_unpacked_bytes:
        raise TableError(
            _("Excel文件解压后过大（上限 %(mb)d MB），请分批上传") % {"mb": limits.max_unpacked_bytes // (1024 * 1024)}
        )
    try:
        # load_workbook's steps but the sheets' (openpyxl would size each sheet by parsing it)
        reader = ExcelReader(io.BytesIO(data), read_only=True, data_only=True)
        try:
            reader.read_manifest()
            reader.read_strings()
            reader.read_workbook()
            apply_stylesheet(reader.archive, reader.wb)
            path = next(rel.target for _sheet, rel in reader.parser.find_sheets() if "chartsheet" not in rel.Type)
            cells = WorkSheetParser(  # reads one <c> element as openpyxl does: shared strings, dates
                None,
                reader.shared_strings,
                data_only=True,
                epoch=reader.wb.epoch,
                date_formats=reader.wb._date_formats,
                timedelta_formats=reader.wb._timedelta_formats,
            )
            with reader.archive.open(path) as sheet:
                return _sheet_rows(sheet, cells, limits)
        finally:
            reader.archive.close()
    except TableError:
        raise
    except Exception:  # a corrupt or mislabelled file raises anything from zipfile to XML errors
        raise TableError(unreadable) from None


def _sheet_rows(sheet, cells, limits: Limits) -> list[list]:
    """The rows of a sheet's XML, streamed: the counts are checked as each element opens, and
    each element is let go (taken out of the tree) once read, a cell's parts with the cell."""
    from openpyxl.xml.constants import SHEET_MAIN_NS
    from openpyxl.xml.functions import iterparse  # defusedxml's when installed, as openpyxl reads

    row_tag, cell_tag = f"{{{SHEET_MAIN_NS}}}row", f"{{{SHEET_MAIN_NS}}}c"
    most_elements = PARTS_PER_CELL * (limits.max_rows + limits.max_cells)
    rows: list[list] = []
    values: list = []
    counter = _Counter(limits)
    elements, in_cell, open_elements = 0, False, []
    for event, element in iterparse(sheet, events=("start", "end")):
        tag = element.tag
        if event == "start":
            elements += 1
            if elements > most_elements:
                raise TableError(_("Excel文件内容过多，请分批上传"))
            if tag == cell_tag:
                counter.add(1, len(rows) + 1)
                in_cell = True
            elif tag == row_tag:
                number = int(element.get("r") or len(rows) + 1)
                while len(rows) < number - 1:  # rows the file leaves out are blank rows
                    rows.append(_checked(rows, [], limits))
                cells.row_counter, cells.col_counter = number, 0
                values, counter.in_row = [], 0
            open_elements.append(element)
            continue
        open_elements.pop()
        if tag == cell_tag:
            in_cell = False
            cell = cells.parse_cell(element)
            if cell["column"] <= limits.max_columns:
                values.extend([None] * (cell["column"] - len(values)))
                values[cell["column"] - 1] = cell["value"]
        elif tag == row_tag:
            rows.append(_checked(rows, values, limits))
        if open_elements and not in_cell:
            open_elements[-1].remove(element)
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
    rows: list[list] = []
    counter = _Counter(limits)

    def lines():
        """The file's lines, each counted into the row that csv is reading (its commas, and one
        more on a row's first line) before it is copied out of the text; csv asks for a line only
        while a row goes on."""
        for line in _LINE.finditer(text):
            counter.add(text.count(",", *line.span()) + (counter.in_row == 0), len(rows) + 1)
            yield line.group()

    reader = csv.reader(lines())
    try:
        for values in reader:
            counter.in_row = 0
            rows.append(_checked(rows, values, limits))
    except csv.Error:
        raise TableError(_("CSV文件第 %(row)d 行格式不正确") % {"row": reader.line_num}) from None
    return rows
