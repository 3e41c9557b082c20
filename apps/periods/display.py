"""How a client's devices and months read on a page: the client and device pages (status_pages)
and the client's own share link (sharing) show the same facts from here, below them both."""

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import prefetch_related_objects
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.core.months import add_months
from apps.core.text import Text
from apps.devices.models import Device
from apps.periods.models import Period
from apps.periods.rules import FINISHED, PeriodStatus, window_opens

INVOICE_TYPES: dict[str, Text] = {
    "004": _("增值税专用发票"),
    "007": _("普通发票"),
    "026": _("电子普通发票"),
    "028": _("电子专用发票"),
    "025": _("卷票"),
    "005": _("机动车销售统一发票"),
    "006": _("二手车销售统一发票"),
    "009": _("货物运输业增值税专用发票"),
}
# The per-invoice-type state the vendors' client software shows.
INVOICE_TYPE_STATES: dict[int | None, Text] = {1: _("未抄税"), 2: _("抄税未清卡"), 3: _("已清卡"), 4: _("已锁死")}
INVOICE_TYPE_STATE_CSS: dict[int | None, str] = {1: "summary_due", 2: "clear_due", 3: "done", 4: "locked"}
TIMELINE_MONTHS = 24


@dataclass
class InvoiceTypeState:
    code: str
    name: Text
    state: int | None
    label: Text
    css: str


def invoice_type_states(device: Device) -> list[InvoiceTypeState]:
    """From monitoring["invoice_types"]: {"004": {"state": 1, …}, …}, in code order."""
    types = _monitoring(device).get("invoice_types")
    types = types if isinstance(types, dict) else {}
    rows = []
    for code in sorted(map(str, types)):
        entry = types.get(code)
        try:
            state = int(entry["state"]) if isinstance(entry, dict) else None
        except (KeyError, TypeError, ValueError):
            state = None
        rows.append(
            InvoiceTypeState(
                code,
                INVOICE_TYPES.get(code, code),
                state,
                INVOICE_TYPE_STATES.get(state, _("未知")),
                INVOICE_TYPE_STATE_CSS.get(state, ""),
            )
        )
    return rows


def _monitoring(device: Device) -> dict:
    """The stored reading, or nothing: a page never fails on what a device reported."""
    return device.monitoring if isinstance(device.monitoring, dict) else {}


def _number(value):
    return value if isinstance(value, (int, float, str)) and not isinstance(value, bool) else None


def decorate_device(device: Any, today: dt.date) -> Any:
    """Adds the facts a page shows: cycle state, lock and latest-report dates, offline limits, and
    the values the device reported that could not be read (kept raw, flagged on its card)."""
    monitoring = _monitoring(device)
    device.state = device.cycle_state(today)
    device.kpjzsj = device.monitoring_date("kpjzsj")
    device.zxbsrq = device.monitoring_date("zxbsrq")
    device.offline_hours = _number(monitoring.get("lxkpsc"))
    device.offline_invoices = _number(monitoring.get("lxkpzs"))
    device.offline_amount_left = _number(monitoring.get("lxzssyje"))
    device.invoice_types = invoice_type_states(device)
    device.unreadable = sorted(device.unreadable_monitoring.items())
    return device


@dataclass
class TimelineMonth:
    month: dt.date
    period: Period | None
    status: PeriodStatus | None
    late: bool = False
    lock_estimated: bool = False


def timeline(client, last_month: dt.date, now: dt.datetime, months: int = TIMELINE_MONTHS) -> list[TimelineMonth]:
    """The client's last `months` periods up to `last_month`, newest first; None where no row is kept."""
    prefetch_related_objects([client], "devices", "invoicing_modes")  # each period asks them
    first = add_months(last_month, -(months - 1))
    periods = {p.month: p for p in Period.objects.filter(client=client, month__range=(first, last_month))}
    today = timezone.localdate(now)
    result = []
    for n in range(months):
        month = add_months(last_month, -n)
        period = periods.get(month)
        if period is None:
            result.append(TimelineMonth(month, None, None))
            continue
        period.client = client
        result.append(
            TimelineMonth(
                month,
                period,
                period.status(now),
                late=period.lateness(today).any,
                lock_estimated=period.lock_is_estimate(now),
            )
        )
    return result


def action_period(client, working: dt.date, now: dt.datetime) -> Period:
    """The period the client page acts on: the working period, or last period while the working
    one has not opened and last period is unfinished (a straggler). Not saved when new."""
    prefetch_related_objects([client], "devices", "invoicing_modes")
    last = add_months(working, -1)
    existing = {p.month: p for p in Period.objects.filter(client=client, month__in=(last, working))}

    def period_of(month):
        period = existing.get(month) or Period.blank(client, month)
        period.client = client
        return period

    if now < window_opens(working) and period_of(last).status(now) not in FINISHED:
        return period_of(last)
    return period_of(working)
