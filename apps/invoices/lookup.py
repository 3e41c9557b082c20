"""发票查询: where an invoice is, across what the devices reported, and when it is not there, why
that can be, each reason shown only when the site's own data points at it (never stored).

The reasons, as a firm meets them: the number was mistyped (similar invoices exist), the invoice
is on another client's device, the device has not been read since the invoice was issued (sync
delay), it was issued offline and is still only on the device, or no device of the firm issued it.
A 会计 searches their own clients' devices only, and no reason speaks of any other."""

import datetime as dt
from dataclasses import dataclass, field, replace
from decimal import Decimal

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.clients.models import Client
from apps.core.months import add_months, format_month, month_start
from apps.devices.models import Device
from apps.periods.models import Period

from .models import Invoice
from .services import last_synced

SYNC_FRESH = dt.timedelta(hours=1)  # a device read this recently counts as read now
NEAR_SHOWN = 10
DEVICES_SHOWN = 20  # of a reason's devices; its text says how many there are
AMOUNT_NEAR = Decimal("1.00")  # amounts this close are "similar" (rounding, a typo in the cents)


@dataclass(frozen=True)
class Criteria:
    """What was asked: a number (with its code), a date range, an amount; optionally one client."""

    code: str = ""
    number: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    amount: Decimal | None = None  # the 金额 or the 价税合计
    client: Client | None = None

    def months(self, today: dt.date) -> list[str]:
        """The months whose invoices answer this: those of the dates, else the month under way."""
        first = month_start(self.date_from or self.date_to or today)
        last = month_start(self.date_to or max(today, first))
        months: list[str] = []
        while first <= last and len(months) < 24:
            months.append(format_month(first))
            first = add_months(first, 1)
        return months


@dataclass
class Found:
    invoice: Invoice
    period: Period | None  # the client's period of the invoice's month, when it has a row
    month: dt.date
    upload: str  # where the invoice stands with the bureau, and which 抄报 carried it


@dataclass
class Reason:
    kind: str  # near, elsewhere, not_synced, offline, not_ours
    title: str
    text: str
    invoices: list[Invoice] = field(default_factory=list)
    devices: list[tuple[Device, str]] = field(default_factory=list)  # each with what is known of it


def devices_in_scope(user, client: Client | None = None):
    devices = Device.objects.in_service().filter(client__in=Client.objects.visible_to(user))
    return devices.filter(client=client) if client else devices


def _scoped(user, client: Client | None):
    """The reported invoices `user` may see; only those of `client`'s devices when it is given."""
    invoices = Invoice.objects.visible_to(user).with_total().select_related("device__client")
    return invoices.filter(device__client=client) if client else invoices


def _issued_within(invoices, criteria: Criteria):
    if criteria.date_from:
        invoices = invoices.filter(issued_at__date__gte=criteria.date_from)
    if criteria.date_to:
        invoices = invoices.filter(issued_at__date__lte=criteria.date_to)
    return invoices


def search(user, criteria: Criteria):
    """The reported invoices that match every criterion given."""
    invoices = _issued_within(_scoped(user, criteria.client), criteria)
    if criteria.number:
        invoices = invoices.filter(number=criteria.number)
        if criteria.code:
            invoices = invoices.filter(code=criteria.code)
    if criteria.amount is not None:
        invoices = invoices.filter(Q(amount=criteria.amount) | Q(total=criteria.amount))
    return invoices


def found(invoices) -> list[Found]:
    """Each invoice with its client's period and its upload, in one query for the periods."""
    invoices = list(invoices)
    months = {(i.device.client_id, _month_of(i)) for i in invoices}
    periods = {
        (p.client_id, p.month): p
        for p in Period.objects.filter(client_id__in={c for c, _m in months}, month__in={m for _c, m in months}).only(
            "pk", "client_id", "month", "summary_uploaded_at"
        )
    }
    rows = []
    for invoice in invoices:
        month = _month_of(invoice)
        period = periods.get((invoice.device.client_id, month))
        rows.append(Found(invoice, period, month, upload_of(invoice, period, month)))
    return rows


def upload_of(invoice: Invoice, period: Period | None, month: dt.date) -> str:
    if not invoice.uploaded:
        return _("离线开具，尚未上传税局：目前只在开票设备中，受票方在税局查不到")
    if period is not None and period.summary_uploaded_at:
        return _("已上传税局，已随 %(month)s 抄报汇总（%(day)s）") % {
            "month": format_month(month),
            "day": f"{timezone.localtime(period.summary_uploaded_at):%Y-%m-%d}",
        }
    return _("已上传税局，将随 %(month)s 的抄报汇总（%(opens)s 起）") % {
        "month": format_month(month),
        "opens": f"{add_months(month, 1):%Y-%m-%d}",
    }


def _month_of(invoice: Invoice) -> dt.date:
    return month_start(timezone.localdate(invoice.issued_at))


def explain(user, criteria: Criteria, now: dt.datetime) -> list[Reason]:
    """Why no reported invoice matches `criteria`, from what the site knows; the most telling first."""
    today = timezone.localdate(now)
    devices = list(devices_in_scope(user, criteria.client).select_related("client"))
    reasons = []
    near = _near(user, criteria)
    if near:
        reasons.append(Reason("near", _("号码或金额可能有误"), _("已上报的发票中有相近的，请核对："), invoices=near))
    if criteria.client:
        elsewhere = list(search(user, replace(criteria, client=None))[:NEAR_SHOWN])
        if elsewhere:
            reasons.append(
                Reason("elsewhere", _("在其他客户的设备上"), _("这张发票由其他客户的设备开具："), invoices=elsewhere)
            )
    stale = _not_synced(devices, criteria, now, today)
    if stale:
        reasons.append(
            Reason(
                "not_synced",
                _("尚未同步"),
                _("%(n)d 台设备自所查时间以来还没有被读取过发票，之后开具的发票还不在系统中；可以现在从设备查询：")
                % {"n": len(stale)},
                devices=stale[:DEVICES_SHOWN],
            )
        )
    offline = [
        (d, _("%(n)d 张离线发票未上传") % {"n": pending})
        for d in devices
        if isinstance(pending := (d.monitoring or {}).get("offline_pending"), int) and pending > 0
    ]
    if offline:
        reasons.append(
            Reason(
                "offline",
                _("离线开具，尚未上传"),
                _("%(n)d 台设备报告有离线开具、尚未上传税局的发票：上传前受票方在税局查不到，设备联网后会自动上传")
                % {"n": len(offline)},
                devices=offline[:DEVICES_SHOWN],
            )
        )
    code_unknown = criteria.code and not Invoice.objects.visible_to(user).filter(code=criteria.code).exists()
    if not reasons or code_unknown:
        text = (_("若不是上面的原因，") if reasons else _("所查的设备都已同步，也没有相近的发票：")) + _(
            "这张发票很可能不是本公司托管的设备开具的（例如客户自己保管的设备），请与开票方核对"
        )
        if code_unknown:
            text = _("发票代码 %(code)s 从未出现在已上报的发票中。") % {"code": criteria.code} + text
        reasons.append(Reason("not_ours", _("可能由其他设备开具"), text))
    return reasons


def _near(user, criteria: Criteria) -> list[Invoice]:
    """Invoices one slip away: the number with one digit changed or two neighbours swapped, the same
    number under another code, or an amount within a yuan."""
    invoices = _scoped(user, criteria.client)
    if criteria.number:
        number = criteria.number
        slips = {number[:i] + d + number[i + 1 :] for i in range(len(number)) for d in "0123456789"}
        slips |= {number[:i] + number[i + 1] + number[i] + number[i + 2 :] for i in range(len(number) - 1)}
        near = invoices.filter(Q(number__in=slips - {number}) | Q(number=number) & ~Q(code=criteria.code))
        if criteria.code:
            near = near.filter(Q(code=criteria.code) | Q(number=number))
        return list(near[:NEAR_SHOWN])
    if criteria.amount is not None:
        low, high = criteria.amount - AMOUNT_NEAR, criteria.amount + AMOUNT_NEAR
        near = _issued_within(invoices, criteria).filter(Q(amount__range=(low, high)) | Q(total__range=(low, high)))
        return list(near[:NEAR_SHOWN])
    return []


def _not_synced(devices, criteria: Criteria, now: dt.datetime, today: dt.date) -> list[tuple[Device, str]]:
    """Devices not read since the invoice could have been issued: the end of the dates asked, or
    now (SYNC_FRESH ago) when no date was given."""
    end = now - SYNC_FRESH
    if criteria.date_to:
        day_end = dt.datetime.combine(
            criteria.date_to + dt.timedelta(days=1), dt.time(), timezone.get_current_timezone()
        )
        end = min(end, day_end)
    synced = last_synced(devices, criteria.months(today), criteria.code, criteria.number)
    stale = []
    for device in devices:
        when = synced[device.pk]
        if when is None or when < end:
            known = (
                _("从未查询")
                if when is None
                else _("最近查询 %(when)s") % {"when": f"{timezone.localtime(when):%Y-%m-%d %H:%M}"}
            )
            stale.append((device, known))
    return stale
