"""Lists exported as CSV or Excel: one helper for every page that offers an export.

CSV is UTF-8 with a byte-order mark so Excel opens Chinese text correctly; XLSX is written with
openpyxl in write-only mode. Text that a spreadsheet would run as a formula is defused."""

import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence
from decimal import Decimal

from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.core import clock

FORMATS = ("csv", "xlsx")
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value):
    """One value as a spreadsheet cell: local naive times, 是/否, text that is never a formula."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("是") if value else _("否")
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).replace(tzinfo=None, microsecond=0) if timezone.is_aware(value) else value
    if isinstance(value, (int, float, Decimal, dt.date)):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _csv(headers, rows) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([str(h) for h in headers])
    for row in rows:
        writer.writerow(
            [value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value for value in map(cell, row)]
        )
    return "\ufeff".encode() + out.getvalue().encode()


def _xlsx(headers, rows, title) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=str(title)[:31])
    sheet.append([str(h) for h in headers])
    for row in rows:
        sheet.append([cell(value) for value in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def export_response(fmt: str, name: str, headers: Sequence, rows: Iterable[Sequence], title="") -> HttpResponse:
    """`fmt` is "csv" or "xlsx"; `name` an ASCII file name without extension; `rows` lists of values
    in the order of `headers` (Chinese column titles)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    body = _csv(headers, rows) if fmt == "csv" else _xlsx(headers, rows, title or name)
    response = HttpResponse(body, content_type=CONTENT_TYPES[fmt])
    stamp = timezone.localtime(clock.now()).strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.{fmt}"'
    return response
