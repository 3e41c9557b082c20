"""Which months need a return, when a period's 抄报 window opens, and the status of a client's
period (docs/domain.md, "The monthly cycle" and "After the deadline").

Two facts that used to be one are kept apart here: a return not filed by the deadline is
逾期未申报, a matter for the bureau; a device is 已锁死 only when the device says so (its own
开票截止日期 has passed, or it answered 248 / 0x09d109), and a late return on a device that is not
locked may still be cleared.
"""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.core.months import add_months, month_start

QUARTER_END_MONTHS = (3, 6, 9, 12)  # their returns are filed in January, April, July and October
SHANGHAI = ZoneInfo("Asia/Shanghai")
WINDOW_OPENS_AFTER = dt.timedelta(minutes=5)  # 抄报 for M is allowed from 00:05 on the 1st of M+1


class PeriodStatus(models.TextChoices):
    NOT_OPEN = "not_open", _("未到抄报期")
    SUMMARY_DUE = "summary_due", _("待抄报")
    RETURN_DUE = "return_due", _("待申报")
    RETURN_OVERDUE = "return_overdue", _("逾期未申报")
    CLEAR_DUE = "clear_due", _("待清卡")
    NO_RETURN_THIS_MONTH = "no_return", _("本月无需申报")
    DONE = "done", _("已完成")
    NO_CLEAR_NEEDED = "no_clear", _("无需清卡")
    LOCKED = "locked", _("已锁死")


S = PeriodStatus
# Nothing is left to do: the device cycle is done, or a 数电 month's return is in (or not due).
FINISHED = (S.DONE, S.NO_CLEAR_NEEDED)
# Statuses in which the device may be cleared now (after the deadline too, while not locked).
READY_TO_CLEAR = (S.CLEAR_DUE, S.NO_RETURN_THIS_MONTH)
# What a person does about a period in each status that is not done.
REMEDIES = {
    S.NOT_OPEN: _("等待抄报期开始，届时自动或批量抄报"),
    S.SUMMARY_DUE: _("执行抄报"),
    S.RETURN_DUE: _("在电子税务局完成申报后记录申报，再清卡"),
    S.RETURN_OVERDUE: _("已逾期：尽快补办申报（可能产生罚款），记录申报后设备未锁死即可清卡"),
    S.CLEAR_DUE: _("执行清卡"),
    S.NO_RETURN_THIS_MONTH: _("本月无需申报，直接清卡"),
    S.LOCKED: _(
        "设备已锁死：补办申报并记录后，先尝试一次远程逾期抄报、清卡（设置为须到大厅的除外）；"
        "不成功须携带设备到主管税务机关解锁"
    ),
}


def window_opens(month: dt.date) -> dt.datetime:
    """When 抄报 for period `month` may start: 00:05 on the 1st of the next month, Shanghai time."""
    return dt.datetime.combine(add_months(month, 1), dt.time(), SHANGHAI) + WINDOW_OPENS_AFTER


def last_open_month(now: dt.datetime) -> dt.date:
    """The latest period whose 抄报 window has opened at `now`."""
    return add_months(month_start((now.astimezone(SHANGHAI) - WINDOW_OPENS_AFTER).date()), -1)


def working_month_for(today: dt.date, last_period_deadline: dt.date) -> dt.date:
    """The period a firm works on: last month's until its deadline has passed, from the day
    after it the current month's (whose window opens on the 1st of next month).
    `last_period_deadline`: the deadline of last month's period, which falls in this month."""
    last_period = add_months(month_start(today), -1)
    return last_period if today <= last_period_deadline else month_start(today)


def acting_month_for(working: dt.date, now: dt.datetime) -> dt.date:
    """The period with work to do now: the working period once its window has opened, before
    that last period (its stragglers)."""
    return working if now >= window_opens(working) else add_months(working, -1)


def return_due(frequency: str, period_month: dt.date) -> bool:
    """Monthly filers file every period; quarterly filers only for a quarter's last month."""
    return frequency == "monthly" or period_month.month in QUARTER_END_MONTHS


def devices_locked(locks: list[bool | None]) -> bool | None:
    """The client's devices as one fact: True if any device says it is locked, None when no
    device has told us anything yet (the status then estimates from the calendar)."""
    if any(locks):
        return True
    return None if all(lock is None for lock in locks) else False


def period_status(
    *,
    month: dt.date,
    deadline: dt.date,
    now: dt.datetime,
    return_required: bool,
    summary_uploaded: bool,
    return_filed: bool,
    cleared: bool,
    locked: bool | None,
    digital: bool = False,
) -> PeriodStatus:
    """One period's status at `now`.

    `locked` is what the client's devices say (devices_locked): True, False, or None when unknown,
    in which case a period still open after its deadline is estimated to be locked
    (lock_is_estimate says so). A cleared period is done, late or not. A locked device blocks
    every period not yet cleared. Before its window opens a period is 未到抄报期. A quarterly
    filer's month without a return still needs 抄报 and 清卡: after 抄报 it reads 本月无需申报.

    `digital`: a 数电 month (the client invoices with no device; 双轨 is not): only the return
    counts; never locked, never estimated; 无需清卡 once the return is recorded or when none is due.
    """
    today = now.astimezone(SHANGHAI).date()
    if cleared:
        return S.DONE
    if digital:
        if now < window_opens(month):
            return S.NOT_OPEN
        if return_required and not return_filed:
            return S.RETURN_OVERDUE if today > deadline else S.RETURN_DUE
        return S.NO_CLEAR_NEEDED
    if locked or (locked is None and today > deadline):
        return S.LOCKED
    if now < window_opens(month):
        return S.NOT_OPEN
    if not summary_uploaded:
        return S.SUMMARY_DUE
    if not return_required:
        return S.NO_RETURN_THIS_MONTH
    if not return_filed:
        return S.RETURN_OVERDUE if today > deadline else S.RETURN_DUE
    return S.CLEAR_DUE


def lock_is_estimate(status: PeriodStatus, locked: bool | None) -> bool:
    return status == S.LOCKED and locked is None


@dataclass(frozen=True)
class Reconciliation:
    """票表比对: what the devices' 抄报 uploaded (summed over devices and invoice types) against the
    sales and tax declared with the return. A gap is declared minus invoiced; None where nothing
    was declared. With figures declared and no 抄报 summary stored, the invoiced side is None: there
    is nothing to compare with (没有抄报汇总可比对), which holds the clear like a mismatch."""

    invoiced_sales: Decimal | None
    invoiced_tax: Decimal | None
    sales_gap: Decimal | None
    tax_gap: Decimal | None
    tolerance: Decimal
    confirmed: bool = False  # a person checked the difference since the return was last recorded

    @property
    def summary_missing(self) -> bool:
        return self.invoiced_sales is None

    @property
    def mismatch(self) -> bool:
        return any(gap is not None and abs(gap) > self.tolerance for gap in (self.sales_gap, self.tax_gap))

    @property
    def holds_clear(self) -> bool:
        return (self.mismatch or self.summary_missing) and not self.confirmed


def reconciliation(
    invoice_summary: dict | None,
    declared_sales: Decimal | None,
    declared_tax: Decimal | None,
    tolerance: Decimal,
    confirmed: bool = False,
) -> Reconciliation | None:
    """None while neither side has anything (no 抄报 summary, Period.invoice_summary: device → type
    → figures, and no declared figures)."""
    declared = declared_sales is not None or declared_tax is not None
    if not invoice_summary:
        if not declared:
            return None
        return Reconciliation(None, None, None, None, tolerance, confirmed)
    entries = [entry for by_type in invoice_summary.values() for entry in by_type.values()]
    sales = sum((Decimal(entry["amount"]) for entry in entries), Decimal(0))
    tax = sum((Decimal(entry["tax"]) for entry in entries), Decimal(0))
    return Reconciliation(
        invoiced_sales=sales,
        invoiced_tax=tax,
        sales_gap=None if declared_sales is None else declared_sales - sales,
        tax_gap=None if declared_tax is None else declared_tax - tax,
        tolerance=tolerance,
        confirmed=confirmed,
    )


@dataclass(frozen=True)
class Lateness:
    """Each step of a period done after its deadline, or still undone once it has passed (逾期)."""

    summary: bool
    filing: bool
    clear: bool

    @property
    def any(self) -> bool:
        return self.summary or self.filing or self.clear


def lateness(
    *,
    deadline: dt.date,
    today: dt.date,
    return_required: bool,
    summary_on: dt.date | None,
    filed_on: dt.date | None,
    cleared_on: dt.date | None,
) -> Lateness:
    """A cleared period had its 抄报 and its return by the clear, whatever dates were recorded."""

    def late(done_on: dt.date | None) -> bool:
        done_on = done_on or cleared_on
        return done_on > deadline if done_on else today > deadline

    return Lateness(
        summary=late(summary_on),
        filing=return_required and late(filed_on),
        clear=late(cleared_on),
    )
