"""客户与设备导入: the firm's client list from Excel or CSV, checked row by row and written whole
or not at all. The page and `POST /api/v1/clients/import/` both go through plan() and write().

One row is a client and, optionally, one of its devices: a client with three devices takes three
rows with the same 纳税人识别号 (its other client cells may be left blank after the first). A
client is found by 纳税人识别号, a device by 设备编号. A blank cell never erases anything: it keeps
what is stored (a new record gets the default), so re-importing the same sheet changes nothing.
Passwords are optional; they are compared and stored encrypted like every device password, and
never shown: a changed password reads "（已更新）" in the preview, the API answer and the audit.

Why openpyxl and the csv module rather than django-import-export (or tablib): one row here is
two records (a client and a device) keyed by natural identifiers; the preview must keep passwords
out (import-export's diff shows every field it writes, and its dry run goes through the model's
save); errors must name the file's row and its Chinese column; and the file must be read with its
size, row and cell limits checked while reading (apps/core/spreadsheet.py), where tablib loads the
whole book first. openpyxl reads the workbook's parts and its cells, the sheet's XML and the CSV
lines are streamed there with the counts checked; exports use openpyxl too (apps/core/export.py)."""

import datetime as dt
import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.accounts.models import User
from apps.audit import log
from apps.audit.models import Action
from apps.clients import identifiers
from apps.clients.models import Client, FilingFrequency, InvoicingMode, TaxpayerKind, staff_error
from apps.clients.modes import set_invoicing_mode
from apps.core import export
from apps.core.months import format_month, parse_month
from apps.core.spreadsheet import Limits, TableError, read_table
from apps.core.text import Text
from apps.devices.models import Device, DeviceKind

LIMITS = Limits(
    max_bytes=1024 * 1024, max_rows=5001, max_columns=30, max_cell_chars=500, max_row_cells=500, max_cells=200_000
)
PASSWORD_SHOWN = gettext_lazy("（已更新）")
PASSWORD_FIELDS = ("certificate_password", "device_password")
TEMPLATE_NAME = "qingka-clients-template"


@dataclass(frozen=True)
class Column:
    header: str  # the file's column title (a file format, so not translated)
    field: str
    help: Text
    example: str


COLUMNS = (
    Column("纳税人识别号", "taxpayer_id", gettext_lazy("必填。统一社会信用代码或旧纳税人识别号"), "91320100MA0000017H"),
    Column("客户名称", "name", gettext_lazy("新客户必填"), "南京甲科技有限公司"),
    Column("纳税人类型", "taxpayer_kind", gettext_lazy("新客户必填：一般纳税人 或 小规模纳税人"), "一般纳税人"),
    Column("申报周期", "filing_frequency_override", gettext_lazy("按月申报 或 按季申报；留空按纳税人类型"), ""),
    Column("负责会计", "staff", gettext_lazy("用户名或姓名"), "kuaiji1"),
    Column("联系人", "contact_name", "", "王会计"),
    Column("联系电话", "contact_phone", "", "025-88888888"),
    Column("备注", "notes", "", ""),
    Column("服务中", "active", gettext_lazy("是 或 否；新客户默认为是"), "是"),
    Column("开票方式", "invoicing_mode", gettext_lazy("税控、数电 或 双轨；须同时填写起始月份"), ""),
    Column(
        "开票方式起始月份",
        "mode_from",
        gettext_lazy("YYYY-MM：从这个所属月份起按该开票方式；转为数电时该客户的设备自此停用"),
        "",
    ),
    Column("设备类型", "kind", gettext_lazy("新设备必填：金税盘、税控盘 或 税务UKey"), "税控盘"),
    Column("设备编号", "number", gettext_lazy("12位数字；留空则本行只导入客户"), "539912237528"),
    Column("开票机号", "sub_number", gettext_lazy("0 为主机，其余为分机；新设备默认为0"), "0"),
    Column("证书口令", "certificate_password", gettext_lazy("可不填：新设备使用默认口令"), ""),
    Column("设备口令", "device_password", gettext_lazy("可不填：新设备使用默认口令"), ""),
)
BY_HEADER = {column.header: column for column in COLUMNS}
BY_FIELD = {column.field: column for column in COLUMNS}
CLIENT_FIELDS = (
    "name",
    "taxpayer_kind",
    "filing_frequency_override",
    "staff",
    "contact_name",
    "contact_phone",
    "notes",
    "active",
)
MODE_FIELDS = ("invoicing_mode", "mode_from")  # not fields of Client: set through clients/modes.set_invoicing_mode
DEVICE_FIELDS = ("kind", "sub_number", *PASSWORD_FIELDS)
TEXT_COLUMNS = tuple(i for i, c in enumerate(COLUMNS) if c.field in ("taxpayer_id", "number", *PASSWORD_FIELDS))
MAX_LENGTHS = {"name": 200, "contact_name": 64, "contact_phone": 32, "notes": 2000}
YES, NO = ("是", "y", "yes", "true", "1", "√"), ("否", "n", "no", "false", "0", "×")


@dataclass(frozen=True)
class Problem:
    row: int | None  # the file's row number (header = 1); None for the file as a whole
    column: str | None
    message: str


@dataclass
class Change:
    """One record the import creates, changes or leaves as it is."""

    action: str  # "created", "updated", "unchanged"
    object: str  # "client", "device"
    key: str  # 纳税人识别号 or 设备编号
    name: str
    row: int
    fields: dict = field(default_factory=dict)  # field → (before, after), passwords masked
    values: dict = field(default_factory=dict)  # field → value to write (plain: never shown)
    instance: Any = None  # the Client or Device, once planned
    client: "Change | None" = None  # a device's client

    def shown(self) -> dict:
        """The change as the preview and the API show it."""
        return {
            "row": self.row,
            "object": self.object,
            "key": self.key,
            "name": self.name,
            "changes": {
                BY_FIELD[name].header: {"before": _shown(name, before), "after": _shown(name, after)}
                for name, (before, after) in self.fields.items()
            },
        }


@dataclass
class Plan:
    changes: list[Change] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)

    def of(self, action: str) -> list[Change]:
        return [change for change in self.changes if change.action == action]

    @property
    def to_write(self) -> list[Change]:
        return [change for change in self.changes if change.action != "unchanged"]

    @property
    def sets_password(self) -> bool:
        """Whether writing it sets a device password: the second factor is asked again for that."""
        return any(name in PASSWORD_FIELDS for change in self.to_write for name in change.fields)

    def digest(self) -> str:
        """What the plan would do, so a confirmation writes only what was previewed."""
        shown = [(c.action, c.object, c.key, c.shown()["changes"]) for c in self.to_write]
        return hashlib.sha256(json.dumps(shown, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


LABELS = {"taxpayer_kind": TaxpayerKind, "filing_frequency_override": FilingFrequency, "kind": DeviceKind}
MODE = "invoicing_mode"  # the one entry of Change.fields for both mode columns: (before, after) as shown


def _shown(name: str, value) -> str:
    if value is None or value == "":
        return ""
    if name in LABELS:
        return str(LABELS[name](value).label)
    if isinstance(value, bool):
        return _("是") if value else _("否")
    return str(value)


# --- reading cells --------------------------------------------------------------------------


class CellError(ValueError):
    pass


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # Excel keeps whole numbers as floats
    if isinstance(value, dt.datetime):
        value = value.date()
    return unicodedata.normalize("NFKC", str(value)).strip()


def _choice(text: str, choices, what: str):
    """A TextChoices value from its Chinese label or its code."""
    for value, label in choices:
        if text in (value, str(label)) or text.replace("申报", "") == str(label).replace("申报", ""):
            return value
    raise CellError(
        _("%(what)s“%(value)s”无法识别，应为：%(choices)s")
        % {"what": what, "value": text, "choices": "、".join(str(label) for _v, label in choices)}
    )


def _device_kind(text: str) -> str:
    if text.lower() in ("ukey", "税务ukey"):
        return DeviceKind.UKEY
    return _choice(text, DeviceKind.choices, _("设备类型"))


def _device_number(text: str) -> str:
    if re.fullmatch(r"\d(\.\d+)?[eE]\+?\d+", text):
        raise CellError(_("设备编号显示为科学计数法（%(value)s）：请把该列设为文本后重新填写") % {"value": text})
    if not re.fullmatch(r"\d{12}", text):
        raise CellError(_("设备编号应为12位数字，实际为“%(value)s”") % {"value": text})
    return text


def _sub_number(text: str) -> int:
    if not text.isdigit() or int(text) > 999:
        raise CellError(_("开票机号应为0到999的整数，实际为“%(value)s”") % {"value": text})
    return int(text)


def _yes_no(text: str) -> bool:
    if text.lower() in YES:
        return True
    if text.lower() in NO:
        return False
    raise CellError(_("应填“是”或“否”，实际为“%(value)s”") % {"value": text})


def _month(text: str) -> dt.date:
    """2026-11, 2026/11, 2026年11月, or a date cell (Excel turns 2026-11 into 2026-11-01)."""
    match = re.fullmatch(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*(?:月|[-/.]\d{1,2}(?:日)?)?", text)
    try:
        return parse_month(f"{match[1]}-{match[2]}") if match else parse_month(text)
    except ValueError:
        raise CellError(_("开票方式起始月份“%(value)s”无法识别，应为 YYYY-MM，如 2026-11") % {"value": text}) from None


def _password(text: str) -> str:
    if len(text) > 64 or any(ch.isspace() for ch in text):
        raise CellError(_("口令不能含空格，且不超过64个字符"))
    return text


def _parse(name: str, text: str, staff: dict):
    if name == "taxpayer_kind":
        return _choice(text, TaxpayerKind.choices, _("纳税人类型"))
    if name == "filing_frequency_override":
        return _choice(text, FilingFrequency.choices, _("申报周期"))
    if name == "staff":
        user = staff.get(text)
        if user is None:
            raise CellError(_("找不到用户名或姓名为“%(value)s”的在职用户（姓名重复时请填用户名）") % {"value": text})
        if refused := staff_error(user):  # a 管理员 or 只读: the model, API and admin refuse them too
            raise CellError(refused)
        return user
    if name == "active":
        return _yes_no(text)
    if name == "invoicing_mode":
        return _choice(text, InvoicingMode.choices, _("开票方式"))
    if name == "mode_from":
        return _month(text)
    if name == "kind":
        return _device_kind(text)
    if name == "number":
        return _device_number(text)
    if name == "sub_number":
        return _sub_number(text)
    if name in PASSWORD_FIELDS:
        return _password(text)
    if name in MAX_LENGTHS and len(text) > MAX_LENGTHS[name]:
        raise CellError(_("不能超过%(n)d个字符") % {"n": MAX_LENGTHS[name]})
    return text


def _staff_lookup() -> dict:
    """Active users by username, and by display name where that name is unique."""
    users = list(User.objects.filter(is_active=True))
    by_name: dict[str, list[User]] = {}
    for user in users:
        if user.display_name:
            by_name.setdefault(user.display_name, []).append(user)
    lookup = {name: found[0] for name, found in by_name.items() if len(found) == 1}
    lookup.update({user.username: user for user in users})
    return lookup


# --- planning -------------------------------------------------------------------------------


@dataclass
class _Row:
    line: int
    values: dict  # field → parsed value, only for non-blank cells read without error
    bad: set = field(default_factory=set)  # fields whose cell could not be read


def _header_name(value) -> str:
    return re.sub(r"[*＊]|（必填）|\(必填\)", "", _text(value)).strip()


def _header_index(table: list[list], required: str, within: int = 3) -> int:
    """The row holding the header: the first, or one under the title row the site's own template
    begins with (export.xlsx_bytes)."""
    for index, values in enumerate(table[:within]):
        if required in [_header_name(value) for value in values]:
            return index
    return 0


def _read_rows(table: list[list], plan: Plan) -> list[_Row]:
    first = _header_index(table, "纳税人识别号")
    header = [_header_name(value) for value in table[first]]
    if "纳税人识别号" not in header:
        plan.problems.append(Problem(1, None, _("第一行应为表头，且须有“纳税人识别号”列；可下载模板对照")))
        return []
    repeated = sorted({name for name in header if name in BY_HEADER and header.count(name) > 1})
    for name in repeated:
        plan.problems.append(Problem(1, name, _("表头中该列出现了不止一次")))
    plan.ignored_columns = [name for name in dict.fromkeys(header) if name and name not in BY_HEADER]
    positions = {BY_HEADER[name].field: header.index(name) for name in BY_HEADER if name in header}
    staff = _staff_lookup()
    rows = []
    for line, cells in enumerate(table[first + 1 :], start=first + 2):
        texts = {name: _text(cells[i]) if i < len(cells) else "" for name, i in positions.items()}
        if not any(texts.values()):
            continue
        row = _Row(line, {})
        for name, text in texts.items():
            if not text:
                continue
            try:
                row.values[name] = _parse(name, text, staff) if name != "taxpayer_id" else text
            except CellError as error:
                plan.problems.append(Problem(line, BY_FIELD[name].header, str(error)))
                row.bad.add(name)
        rows.append(row)
    return rows


def plan(name: str, data: bytes) -> Plan:
    """What importing this file would do, and every problem found; writes nothing."""
    result = Plan()
    try:
        table = read_table(name, data, LIMITS)
    except TableError as error:
        result.problems.append(Problem(None, None, str(error)))
        return result
    rows = _read_rows(table, result)
    if not rows and not result.problems:
        result.problems.append(Problem(None, None, _("文件中没有数据行")))
    if result.problems and not rows:
        return result
    clients, ids = _plan_clients(rows, result)
    _plan_devices(rows, clients, ids, result)
    result.problems.sort(key=lambda p: (p.row or 0, list(BY_HEADER).index(p.column) if p.column in BY_HEADER else -1))
    return result


def _plan_clients(rows: list[_Row], plan: Plan) -> tuple[dict[str, Change], dict[int, str]]:
    """One Change per client, from its rows (the later rows may repeat or leave out its cells);
    and each row's normalised 纳税人识别号 by line, where it is valid."""
    ids = {}
    for row in rows:
        if "taxpayer_id" not in row.values:
            plan.problems.append(Problem(row.line, "纳税人识别号", _("缺少纳税人识别号")))
            continue
        try:
            ids[row.line] = identifiers.validate(row.values["taxpayer_id"]).value
        except identifiers.InvalidIdentifier as error:
            plan.problems.append(
                Problem(row.line, "纳税人识别号", _("纳税人识别号不正确：%(reason)s") % {"reason": error})
            )
    existing = Client.objects.select_related("staff").in_bulk(set(ids.values()), field_name="taxpayer_id")
    changes: dict[str, Change] = {}
    first_line: dict[tuple[str, str], int] = {}
    for row in rows:
        taxpayer_id = ids.get(row.line)
        if taxpayer_id is None:
            continue
        change = changes.get(taxpayer_id)
        if change is None:
            client = existing.get(taxpayer_id)
            change = changes[taxpayer_id] = Change(
                "unchanged" if client else "created",
                "client",
                taxpayer_id,
                client.name if client else "",
                row.line,
                instance=client,
            )
        for name in (*CLIENT_FIELDS, *MODE_FIELDS):
            if name not in row.values:
                continue
            value = row.values[name]
            if name in change.values and change.values[name] != value:
                plan.problems.append(
                    Problem(
                        row.line,
                        BY_FIELD[name].header,
                        _("与第 %(line)d 行同一客户的“%(column)s”不一致")
                        % {"line": first_line[(taxpayer_id, name)], "column": BY_FIELD[name].header},
                    )
                )
                continue
            change.values[name] = value
            first_line.setdefault((taxpayer_id, name), row.line)
    for change in changes.values():
        _client_fields(change, plan)
        plan.changes.append(change)
    return changes, ids


def _client_fields(change: Change, plan: Plan) -> None:
    _mode_field(change, plan)
    client = change.instance
    if client is None:
        for name, what in (("name", _("客户名称")), ("taxpayer_kind", _("纳税人类型"))):
            header = BY_FIELD[name].header
            if name not in change.values and (change.row, header) not in {(p.row, p.column) for p in plan.problems}:
                plan.problems.append(Problem(change.row, header, _("新客户须填写%(what)s") % {"what": what}))
        change.name = change.values.get("name", "")
        change.fields |= {name: (None, value) for name, value in change.values.items() if name not in MODE_FIELDS}
        return
    for name, value in change.values.items():
        if name in MODE_FIELDS:
            continue
        before = client.staff if name == "staff" else getattr(client, name)
        if before != value:
            change.fields[name] = (before, value)
    if change.fields:
        change.action = "updated"
        change.name = change.values.get("name", client.name)


def _mode_field(change: Change, plan: Plan) -> None:
    """The two mode columns as one change of the client's mode from that month, shown as
    (before, after) under 开票方式 when the mode in that month differs; both or neither."""
    mode, since = change.values.get("invoicing_mode"), change.values.get("mode_from")
    if (mode is None) != (since is None):
        missing = "开票方式起始月份" if since is None else "开票方式"
        taken = {(p.row, p.column) for p in plan.problems}
        if (change.row, "开票方式" if mode is None else "开票方式起始月份") not in taken:
            plan.problems.append(Problem(change.row, missing, _("开票方式与开票方式起始月份须同时填写")))
        return
    if mode is None or since is None:
        return
    client = change.instance
    before = client.invoicing_mode(since) if client is not None else InvoicingMode.TAX_CONTROL
    if before != mode:
        after = _("%(mode)s（%(month)s 起）") % {"mode": InvoicingMode(mode).label, "month": format_month(since)}
        change.fields[MODE] = (str(InvoicingMode(before).label) if client else None, after)


def _plan_devices(rows: list[_Row], clients: dict[str, Change], ids: dict[int, str], plan: Plan) -> None:
    numbers = {row.values["number"] for row in rows if "number" in row.values}
    existing = Device.objects.select_related("client").in_bulk(numbers, field_name="number")
    client_pks = [c.instance.pk for c in clients.values() if c.instance is not None]
    taken: dict[tuple[object, int], str] = {}  # (client key, sub number) → where: a device number
    for other in Device.objects.filter(client__in=client_pks).select_related("client"):
        if other.number not in numbers:
            taken[(other.client.taxpayer_id, other.sub_number)] = other.number
    seen: dict[str, int] = {}
    planned: list[tuple[_Row, Change, Change]] = []
    for row in rows:
        device_cells = [name for name in DEVICE_FIELDS if name in row.values]
        if "number" not in row.values:
            if device_cells and "number" not in row.bad:
                plan.problems.append(Problem(row.line, "设备编号", _("填写了设备信息但缺少设备编号")))
            continue
        number = row.values["number"]
        if number in seen:
            plan.problems.append(
                Problem(row.line, "设备编号", _("与第 %(line)d 行的设备编号重复") % {"line": seen[number]})
            )
            continue
        seen[number] = row.line
        client_change = clients.get(ids.get(row.line, ""))
        if client_change is None:
            continue  # the row's taxpayer identifier is wrong: already reported
        device = existing.get(number)
        if device is not None and device.client.taxpayer_id != client_change.key:
            plan.problems.append(
                Problem(
                    row.line,
                    "设备编号",
                    _("该设备已登记在客户“%(client)s”（%(id)s）名下；导入不移动设备")
                    % {"client": device.client.name, "id": device.client.taxpayer_id},
                )
            )
            continue
        change = Change(
            "unchanged" if device else "created", "device", number, "", row.line, instance=device, client=client_change
        )
        change.values = {name: row.values[name] for name in device_cells}
        planned.append((row, change, client_change))
    for row, change, client_change in planned:
        _device_fields(change, plan)
        sub_number = change.values.get("sub_number", change.instance.sub_number if change.instance else 0)
        where = taken.get((client_change.key, sub_number))
        if where is not None:
            plan.problems.append(
                Problem(
                    row.line,
                    "开票机号",
                    _("该客户的开票机号 %(n)d 已由设备 %(number)s 使用") % {"n": sub_number, "number": where},
                )
            )
        taken[(client_change.key, sub_number)] = change.key
        plan.changes.append(change)


def _device_fields(change: Change, plan: Plan) -> None:
    device = change.instance
    kind = change.values.get("kind", device.kind if device else None)
    if kind is None:
        plan.problems.append(Problem(change.row, "设备类型", _("新设备须填写设备类型")))
        kind = ""
    change.name = f"{DeviceKind(kind).label} {change.key}" if kind else change.key
    if device is None:
        change.fields = {
            name: (None, PASSWORD_SHOWN if name in PASSWORD_FIELDS else value) for name, value in change.values.items()
        }
        return
    for name, value in change.values.items():
        if getattr(device, name) != value:
            change.fields[name] = (None, PASSWORD_SHOWN) if name in PASSWORD_FIELDS else (getattr(device, name), value)
    if change.fields:
        change.action = "updated"


# --- writing --------------------------------------------------------------------------------


class PlanChanged(Exception):
    """The data changed between the preview and the confirmation: nothing was written."""


def write(name: str, data: bytes, *, user, request=None, expected_digest: str | None = None) -> Plan:
    """Plans again and, when nothing is wrong (and the plan is the one previewed, if given),
    writes every change in one transaction with its audit events. Returns the plan; nothing is
    written when it has problems."""
    with transaction.atomic():
        result = plan(name, data)
        if result.problems:
            return result
        if expected_digest is not None and result.digest() != expected_digest:
            raise PlanChanged
        for change in result.to_write:
            if change.object == "client":
                _write_client(change, name, user, request)
        for change in result.to_write:
            if change.object == "device":
                _write_device(change, name, user, request)
        for change in result.to_write:  # after the devices: a switch to 数电 retires them too
            if MODE in change.fields:  # audited there, as the client page's 设置开票方式 is
                mode, since = change.values["invoicing_mode"], change.values["mode_from"]
                set_invoicing_mode(change.instance, mode, since, user=user, request=request)
    return result


def _audit(change: Change, file_name: str, user, request) -> None:
    """The change with its fields before and after, passwords masked, and the file it came from."""
    before, after = {}, {}
    for name, (old, new) in change.fields.items():
        if name == MODE:
            continue  # set_invoicing_mode audits it
        if change.action == "updated":
            before[name] = _audit_value(name, old)
        after[name] = _audit_value(name, new)
    after["import_file"] = file_name
    verb = "created" if change.action == "created" else "updated"
    log.record(
        Action(f"{change.object}.{verb}"),
        change.instance,
        user=user,
        request=request,
        before=before or None,
        after=after,
    )


def _audit_value(name, value):
    if name in PASSWORD_FIELDS:
        return str(PASSWORD_SHOWN) if value else ""
    return str(value) if isinstance(value, User) else value


def _write_client(change: Change, file_name: str, user, request) -> None:
    client = change.instance or Client(taxpayer_id=change.key)
    for name, (_old, value) in change.fields.items():
        if name != MODE:
            setattr(client, name, value)
    client.save()
    change.instance = client
    if set(change.fields) - {MODE}:
        _audit(change, file_name, user, request)


def _write_device(change: Change, file_name: str, user, request) -> None:
    assert change.client is not None, "a device change has its client"
    device = change.instance or Device(number=change.key, client=change.client.instance)
    for name, value in change.values.items():
        setattr(device, name, value)
    device.save()
    change.instance = device
    _audit(change, file_name, user, request)


# --- the template ---------------------------------------------------------------------------


def template_bytes(fmt: str) -> bytes:
    """The import template: .xlsx with the header row and a sheet of notes on each column (the
    identifier, number and password columns formatted as text, so Excel keeps every digit), or
    .csv with the header row."""
    headers = [column.header for column in COLUMNS]
    if fmt == "csv":
        return export.csv_bytes(headers, [])
    notes = [[column.header, column.help, column.example] for column in COLUMNS]
    notes.append(["", _("每行一个客户及其一台设备；同一客户有多台设备时写多行，纳税人识别号相同。"), ""])
    notes.append(["", _("留空的单元格不修改已有数据；重复导入同一文件不会产生变化。"), ""])
    return export.xlsx_bytes(
        [
            export.Sheet(
                _("客户与设备"),
                headers,
                [],
                text_columns=TEXT_COLUMNS,
                caption=_("客户与设备导入模板：第二行是表头，从第三行起每行填写一个客户的一台设备"),
            ),
            export.Sheet(
                _("填写说明"), [_("列"), _("说明"), _("示例")], notes, caption=_("客户与设备导入模板：填写说明")
            ),
        ]
    )
