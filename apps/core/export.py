"""Lists exported as CSV or Excel: every list page exports what it shows through a Table.

A page offers its export in three lines: a Table naming its columns, in the view
`if response := TABLE.respond(request, rows): return response`, and in the template
`{% include "core/_export.html" %}` (the links keep the page's filters, drop its paging).

Every cell survives any text: characters XML cannot hold (control characters, U+FFFE/U+FFFF,
lone surrogates) are shown as visible symbols instead of breaking the XLSX file, and text
longer than a spreadsheet cell takes is cut. Text beginning with = + - @ (or a tab or carriage
return) never runs as a formula: in XLSX it is a text cell marked like a typed apostrophe
(quotePrefix) so it stays text when edited; in CSV it is written with a leading apostrophe.
CSV is UTF-8 with a byte-order mark so Excel opens Chinese text correctly; XLSX is written with
openpyxl in write-only mode."""

import csv
import datetime as dt
import io
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.core import clock
from apps.core.text import Text

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
    text = _CONTROL.sub(lambda m: chr(0x2400 + ord(m.group())), str(value))  # U+2400…: ␀ ␁ ␂
    text = _NOT_XML.sub("\ufffd", text)
    return text if len(text) <= MAX_CELL_CHARS else text[: MAX_CELL_CHARS - 1] + "…"


def is_formula_like(value) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_STARTS)


@dataclass(frozen=True)
class Sheet:
    title: str
    headers: Sequence
    rows: Iterable[Sequence]
    text_columns: tuple[int, ...] = field(default=())  # 0-based; cells formatted as text (ids, numbers)


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


def xlsx_bytes(sheets: Sequence[Sheet]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.utils import get_column_letter

    book = Workbook(write_only=True)
    for sheet in sheets:
        ws = book.create_sheet(title=cell(sheet.title)[:31])
        for index in sheet.text_columns:
            ws.column_dimensions[get_column_letter(index + 1)].number_format = "@"

        def text_cell(value, ws=ws):
            written = WriteOnlyCell(ws, value=value)
            written.data_type = "s"  # openpyxl would take text beginning with = for a formula
            written.quotePrefix = is_formula_like(value)
            return written

        ws.append([text_cell(cell(h)) for h in sheet.headers])
        for row in sheet.rows:
            values = [cell(v) for v in row]
            ws.append([text_cell(v) if isinstance(v, str) else v for v in values])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def file_response(fmt: str, name: str, body: bytes) -> HttpResponse:
    """`name`: an ASCII file name without extension; a time stamp is added."""
    response = HttpResponse(body, content_type=CONTENT_TYPES[fmt])
    stamp = timezone.localtime(clock.now()).strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.{fmt}"'
    return response


def export_response(fmt: str, name: str, headers: Sequence, rows: Iterable[Sequence], title="") -> HttpResponse:
    """`fmt` is "csv" or "xlsx"; `rows` lists of values in the order of `headers` (Chinese titles)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    if fmt == "csv":
        body = csv_bytes(headers, rows)
    else:
        body = xlsx_bytes([Sheet(title or name, headers, rows)])
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
        return export_response(fmt, self.name, self.headers, map(self.row, objects), self.title)
