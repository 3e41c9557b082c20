"""Lists exported as CSV or Excel: every list page exports what it shows through a Table.

A page offers its export in three lines: a Table naming its columns, in the view
`if response := TABLE.respond(request, rows): return response`, and in the template
`{% include "core/_export.html" %}` (the links keep the page's filters, drop its paging).

Every cell survives any text: characters XML cannot hold (control characters, U+FFFE/U+FFFF,
lone surrogates) are shown as visible symbols instead of breaking the XLSX file, characters that
reorder or hide text (bidirectional overrides, zero-width spaces: apps/core/text.py) are dropped,
and text longer than a spreadsheet cell takes is cut. Text beginning with = + - @ (or a tab or carriage
return) never runs as a formula: in XLSX it is a text cell marked like a typed apostrophe
(quotePrefix) so it stays text when edited; in CSV it is written with a leading apostrophe.
CSV is UTF-8 with a byte-order mark so Excel opens Chinese text correctly; XLSX is written with
openpyxl in write-only mode, through xlsx_bytes: one writer for every workbook (title row, frozen bold
header, fitted widths, formatted dates and amounts)."""

import csv
import datetime as dt
import io
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.core import clock
from apps.core.text import Text, visible

FORMATS = ("csv", "xlsx")
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
MAX_CELL_CHARS = 32767  # what one Excel cell holds
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_NOT_XML = re.compile(r"[\ud800-\udfff\ufffe\uffff]")
CHUNK = 500


def cell(value):
    """One value as a spreadsheet cell: local naive times, 是/否, numbers and dates as such, and
    any other value as text that XML can hold (see the module's note)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("是") if value else _("否")
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).replace(tzinfo=None, microsecond=0) if timezone.is_aware(value) else value
    if isinstance(value, (int, float, Decimal, dt.date)):
        return value
    text = _CONTROL.sub(lambda m: chr(0x2400 + ord(m.group())), visible(str(value)))  # U+2400…: ␀ ␁ ␂
    text = _NOT_XML.sub("\ufffd", text)
    return text if len(text) <= MAX_CELL_CHARS else text[: MAX_CELL_CHARS - 1] + "…"


def is_formula_like(value) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_STARTS)


@dataclass(frozen=True)
class Sheet:
    title: str  # the sheet's name (Chinese, up to 31 characters) and the start of its title row
    headers: Sequence
    rows: Iterable[Sequence]
    text_columns: tuple[int, ...] = field(default=())  # 0-based; cells formatted as text (ids, numbers)
    caption: str = ""  # the title row's "what it is" when more than the sheet's name (月结报告 2026年11月)


WIDTH_SAMPLE = 1000  # rows read for the column widths before the sheet is written
MIN_WIDTH, MAX_WIDTH = 6, 60
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
DATE_FORMAT = "yyyy-mm-dd"
MONEY_FORMAT = "#,##0.00"


def display_width(value) -> int:
    """How many character widths a value takes in a cell: CJK and full-width characters two."""
    if isinstance(value, dt.datetime):
        return 16
    if isinstance(value, dt.date):
        return 10
    if isinstance(value, Decimal | float):
        return len(f"{value:,.2f}")
    text = str(value)
    longest = max(text.split("\n"), key=len) if text else ""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in longest)


def title_line(what, for_whom="", at: dt.datetime | None = None) -> str:
    """The title row: what the file is, for whom, and when it was made (local time)."""
    when = timezone.localtime(at or clock.now()).strftime("%Y-%m-%d %H:%M")
    parts = [str(what)]
    if for_whom:
        parts.append(_("导出人：%(who)s") % {"who": for_whom})
    parts.append(_("导出时间：%(when)s") % {"when": when})
    return " · ".join(parts)


def xlsx_bytes(sheets: Sequence[Sheet], for_whom="", at: dt.datetime | None = None) -> bytes:
    """Every workbook the site writes: on each sheet a bold title row (what, for whom, when), a
    bold header row frozen under it, columns as wide as their content (the first WIDTH_SAMPLE rows
    are read for it, the rest streamed), times, dates and amounts as real cells with formats."""
    from itertools import chain, islice

    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    bold, title_font = Font(bold=True), Font(bold=True, size=13)
    book = Workbook(write_only=True)
    for sheet in sheets:
        ws = book.create_sheet(title=cell(sheet.title)[:31])
        rows = iter(sheet.rows)
        sample = [[cell(v) for v in row] for row in islice(rows, WIDTH_SAMPLE)]
        headers = [cell(h) for h in sheet.headers]
        widths = [display_width(h) for h in headers]
        for values in sample:
            widths.extend([0] * (len(values) - len(widths)))
            for index, value in enumerate(values):
                widths[index] = max(widths[index], display_width(value))
        for index, width in enumerate(widths):
            dimension = ws.column_dimensions[get_column_letter(index + 1)]
            dimension.width = min(MAX_WIDTH, max(MIN_WIDTH, width + 2))
            if index in sheet.text_columns:
                dimension.number_format = "@"
        ws.freeze_panes = "A3"  # the title and the header stay in view

        def text_cell(value, ws=ws, font=None, wrap=False):
            written = WriteOnlyCell(ws, value=value)
            written.data_type = "s"  # openpyxl would take text beginning with = for a formula
            written.quotePrefix = is_formula_like(value)
            if font is not None:
                written.font = font
            if wrap:
                written.alignment = Alignment(wrap_text=True, vertical="top")
            return written

        def value_cell(value, index, ws=ws, text_columns=sheet.text_columns):
            if isinstance(value, str):
                return text_cell(value, wrap="\n" in value)
            written = WriteOnlyCell(ws, value=value)
            if index in text_columns:
                written.number_format = "@"
            elif isinstance(value, dt.datetime):
                written.number_format = DATETIME_FORMAT
            elif isinstance(value, dt.date):
                written.number_format = DATE_FORMAT
            elif isinstance(value, Decimal | float):
                written.number_format = MONEY_FORMAT
            return written

        ws.append([text_cell(cell(title_line(sheet.caption or sheet.title, for_whom, at)), font=title_font)])
        ws.append([text_cell(h, font=bold) for h in headers])
        for values in chain(sample, ([cell(v) for v in row] for row in rows)):
            ws.append([value_cell(v, i) for i, v in enumerate(values)])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_bytes(headers: Sequence, rows: Iterable[Sequence]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    for row in ([str(h) for h in headers], *([cell(v) for v in row] for row in rows)):
        writer.writerow(
            [
                "'" + value
                if is_formula_like(value)
                else value.isoformat(sep=" ")
                if isinstance(value, dt.datetime)
                else value
                for value in row
            ]
        )
    return "\ufeff".encode() + out.getvalue().encode()


def file_response(fmt: str, name: str, body: bytes) -> HttpResponse:
    """`name`: an ASCII file name without extension; a time stamp is added."""
    response = HttpResponse(body, content_type=CONTENT_TYPES[fmt])
    stamp = timezone.localtime(clock.now()).strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.{fmt}"'
    return response


def export_response(
    fmt: str, name: str, headers: Sequence, rows: Iterable[Sequence], title="", for_whom=""
) -> HttpResponse:
    """`fmt` is "csv" or "xlsx"; `rows` lists of values in the order of `headers` (Chinese titles);
    `for_whom`: who asked for it, named in the workbook's title row."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    if fmt == "csv":
        body = csv_bytes(headers, rows)
    else:
        body = xlsx_bytes([Sheet(title or name, headers, rows)], for_whom=for_whom)
    return file_response(fmt, name, body)


@dataclass(frozen=True)
class Table:
    """What a list page exports: file name (ASCII), sheet title, column headers, and `row`, which
    reads one of the page's objects as the values of those columns."""

    name: str
    title: Text
    headers: Sequence
    row: Callable[[Any], Sequence]

    def respond(self, request, objects: Iterable) -> HttpResponse | None:
        """The file that `?export=csv|xlsx` asks for, of every object (all pages), else None."""
        fmt = request.GET.get("export")
        if fmt not in FORMATS:
            return None
        if isinstance(objects, QuerySet):
            objects = objects.iterator(chunk_size=CHUNK)
        who = request.user if getattr(request.user, "is_authenticated", False) else ""
        return export_response(fmt, self.name, self.headers, map(self.row, objects), self.title, for_whom=str(who))
