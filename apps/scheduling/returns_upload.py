"""Filed returns recorded in bulk from a spreadsheet: read an .xlsx or .csv file (UTF-8 with or
without BOM, or GBK) within this upload's limits (apps/core/spreadsheet.py), check every row,
and write all rows or none.

The columns are named by a Chinese header row (COLUMNS). Every row gets its errors in Chinese;
the upload may be recorded only when no row has one."""

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from apps.clients import identifiers
from apps.clients.models import Client
from apps.core import spreadsheet
from apps.core.months import format_month, month_start, parse_month
from apps.core.permissions import can_operate_client
from apps.core.spreadsheet import TableError
from apps.periods.models import Period
from apps.periods.services import FiledReturn, record_returns, return_filed_errors

TAXPAYER_ID, MONTH, FILED_ON, SALES, TAX = "纳税人识别号", "所属月份", "申报日期", "申报销售额", "申报税额"
REQUIRED = (TAXPAYER_ID, MONTH, FILED_ON)
COLUMNS = (*REQUIRED, SALES, TAX)
KEYS = {TAXPAYER_ID: "taxpayer_id", MONTH: "month", FILED_ON: "filed_on", SALES: "declared_sales", TAX: "declared_tax"}
MAX_ROWS = 5000  # data rows
LIMITS = spreadsheet.Limits(
    max_bytes=2 * 1024 * 1024,
    max_unpacked_bytes=10 * 1024 * 1024,
    max_rows=2 * MAX_ROWS,  # every row read, blank ones too
    max_columns=50,
    max_cell_chars=500,
    max_row_cells=500,
    max_cells=100_000,
)
LARGEST_AMOUNT = Decimal(10) ** 14  # the period's amounts have 16 digits, 2 after the point

_MONTH = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?$")
_DAY = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$")
_COMPACT_DAY = re.compile(r"^(\d{4})(\d{2})(\d{2})$")


class UploadError(Exception):
    """The file as a whole cannot be read: wrong type, encoding, header, size."""


@dataclass
class Row:
    line: int  # row number in the file, the header being line 1
    values: dict[str, str]  # what the file says, as text, by KEYS of the column
    client: Client | None = None
    month: dt.date | None = None
    filed_on: dt.date | None = None
    declared_sales: Decimal | None = None
    declared_tax: Decimal | None = None
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


# --- reading the file --------------------------------------------------------------------------


def read_table(name: str, data: bytes) -> list[tuple[int, dict[str, object]]]:
    """(line, {column: value}) for each non-empty data row of an .xlsx or .csv file."""
    try:
        lines = spreadsheet.read_table(name, data, LIMITS)
    except TableError as error:
        raise UploadError(str(error)) from None
    # the header is the first row, or the second under the title row of the site's own template
    first = next((i for i, line in enumerate(lines[:3]) if REQUIRED[0] in map(_header_name, line)), 0)
    header = [_header_name(value) for value in lines[first]]
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        raise UploadError(
            _("缺少必填列：%(columns)s。第一行应为表头：%(header)s")
            % {"columns": "、".join(missing), "header": "、".join(COLUMNS)}
        )
    repeated = sorted({name for name in header if name in COLUMNS and header.count(name) > 1})
    if repeated:
        raise UploadError(_("表头中的列重复：%(columns)s") % {"columns": "、".join(repeated)})
    positions = {name: header.index(name) for name in COLUMNS if name in header}
    table = []
    for number, values in enumerate(lines[first + 1 :], start=first + 2):
        if all(_blank(value) for value in values):
            continue
        table.append((number, {name: values[i] if i < len(values) else None for name, i in positions.items()}))
    if not table:
        raise UploadError(_("文件中没有数据行"))
    if len(table) > MAX_ROWS:
        raise UploadError(_("数据行过多（上限 %(n)d 行），请分批上传") % {"n": MAX_ROWS})
    return table


def _header_name(value) -> str:
    text = "" if value is None else str(value)
    for noise in ("（元）", "(元)", "*", "＊"):
        text = text.replace(noise, "")
    return text.strip()


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


# --- reading the values ------------------------------------------------------------------------


def parse_day(value) -> dt.date:
    """A date cell, or text like 2026-11-05, 2026/11/5, 2026年11月5日, 20261105; ValueError otherwise."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = _text(value)
    match = _DAY.match(text) or _COMPACT_DAY.match(text)
    if not match:
        raise ValueError(text)
    year, month, day = (int(part) for part in match.groups())
    return dt.date(year, month, day)


def parse_upload_month(value) -> dt.date:
    """A month as 2026-10, 2026/10, 2026年10月, or any date in it; ValueError otherwise."""
    if isinstance(value, dt.date):
        return month_start(value if not isinstance(value, dt.datetime) else value.date())
    text = _text(value)
    match = _MONTH.match(text)
    if match:
        return parse_month(f"{match.group(1)}-{match.group(2)}")
    return month_start(parse_day(text))


def parse_amount(value) -> Decimal | None:
    """An amount in yuan (¥ and thousands separators allowed), None when empty; ValueError when
    it is not a number, has more than two decimals, or is too large."""
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, (int, float, Decimal)):
        text = str(value)
    else:
        text = _text(value)
        for noise in ("¥", "￥", ",", "，", " ", "元"):
            text = text.replace(noise, "")
    if not text:
        return None
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ValueError(text) from None
    if not amount.is_finite() or abs(amount) >= LARGEST_AMOUNT:
        raise ValueError(text)
    if amount != amount.quantize(Decimal("0.01")):
        raise ValueError(text)
    return amount.quantize(Decimal("0.01"))


# --- checking the rows -------------------------------------------------------------------------


def check_rows(table, user, today: dt.date) -> list[Row]:
    """Every row with its client, values and errors, for `user` on `today`."""
    rows = [Row(line, {KEYS[name]: _text(value) for name, value in values.items()}) for line, values in table]
    wanted: dict[int, str] = {}  # line → taxpayer identifier
    for row, (_line, values) in zip(rows, table, strict=True):
        _read_values(row, values, wanted)
    clients = Client.objects.select_related("staff").in_bulk(set(wanted.values()), field_name="taxpayer_id")
    periods = {
        (p.client_id, p.month): p
        for p in Period.objects.filter(client__in=clients.values(), month__in={row.month for row in rows if row.month})
    }
    seen: dict[tuple[int, dt.date], int] = {}
    for row in rows:
        identifier = wanted.get(row.line)
        if identifier is None:
            continue
        client = clients.get(identifier)
        if client is None:
            row.errors.append(_("找不到纳税人识别号为 %(id)s 的客户") % {"id": identifier})
            continue
        if not can_operate_client(user, client):
            row.errors.append(_("该客户不是您负责的客户，无权记录申报"))
            continue
        row.client = client
        if row.month is None:
            continue
        key = (client.pk, row.month)
        if key in seen:
            row.errors.append(_("与第 %(line)d 行重复（同一客户同一所属月份）") % {"line": seen[key]})
            continue
        seen[key] = row.line
        if row.filed_on is None and row.values.get("filed_on"):
            continue  # the date could not be read; that error is already there
        period = periods.get(key) or Period(client=client, month=row.month)
        for errors in return_filed_errors(period, row.filed_on, row.declared_sales, row.declared_tax, today).values():
            row.errors += errors
        if period.return_filed_on and not row.errors:
            row.notes.append(_("已记录过申报（%(day)s），将以本行为准") % {"day": period.return_filed_on.isoformat()})
    return rows


def _read_values(row: Row, values: dict, wanted: dict) -> None:
    if _blank(values.get(TAXPAYER_ID)):
        row.errors.append(_("缺少纳税人识别号"))
    else:
        try:
            wanted[row.line] = identifiers.validate(_text(values[TAXPAYER_ID])).value
        except identifiers.InvalidIdentifier as error:
            row.errors.append(_("纳税人识别号不正确：%(reason)s") % {"reason": error})
    if _blank(values.get(MONTH)):
        row.errors.append(_("缺少所属月份"))
    else:
        try:
            row.month = parse_upload_month(values[MONTH])
        except ValueError:
            row.errors.append(
                _("所属月份“%(value)s”无法识别，应为 YYYY-MM，如 2026-10") % {"value": row.values["month"]}
            )
    if not _blank(values.get(FILED_ON)):
        try:
            row.filed_on = parse_day(values[FILED_ON])
        except ValueError:
            row.errors.append(
                _("申报日期“%(value)s”无法识别，应为 YYYY-MM-DD，如 2026-11-05") % {"value": row.values["filed_on"]}
            )
    for column in (SALES, TAX):
        try:
            setattr(row, KEYS[column], parse_amount(values.get(column)))
        except ValueError:
            row.errors.append(
                _("%(column)s“%(value)s”不是有效金额（数字，最多两位小数）")
                % {"column": column, "value": row.values.get(KEYS[column], "")}
            )


def parse_upload(name: str, data: bytes, user, today: dt.date) -> list[Row]:
    return check_rows(read_table(name, data), user, today)


# --- keeping and recording ---------------------------------------------------------------------


def to_session(rows: list[Row]) -> list[dict]:
    """The checked rows as plain JSON for the session, between the preview and the confirmation."""
    entries = []
    for row in rows:
        assert row.client and row.month and row.filed_on, "only rows checked ok are kept"
        entries.append(
            {
                "line": row.line,
                "client": row.client.pk,
                "month": format_month(row.month),
                "filed_on": row.filed_on.isoformat(),
                "declared_sales": None if row.declared_sales is None else str(row.declared_sales),
                "declared_tax": None if row.declared_tax is None else str(row.declared_tax),
            }
        )
    return entries


def record_all(entries: list[dict], user, request=None) -> int:
    """Records every entry of to_session(), or none (periods.services.record_returns): a
    ValidationError names each row that cannot be recorded (its client gone or no longer the
    user's, or its values refused)."""
    clients = Client.objects.select_related("staff").in_bulk({entry["client"] for entry in entries})
    returns, gone = [], []
    for entry in entries:
        line = _("第 %(line)d 行") % {"line": entry["line"]}
        client = clients.get(entry["client"])
        if client is None or not can_operate_client(user, client):
            gone.append(f"{line}：{_('客户已不存在或您已无权为其记录申报')}")
            continue
        sales, tax = (
            None if entry[name] is None else Decimal(entry[name]) for name in ("declared_sales", "declared_tax")
        )
        filed_on = dt.date.fromisoformat(entry["filed_on"])
        returns.append(FiledReturn(client, parse_month(entry["month"]), filed_on, line, sales, tax))
    if gone:
        raise ValidationError(gone)
    return record_returns(returns, user=user, request=request)
