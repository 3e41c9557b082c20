"""Which months need a return, and the status of a client's period (domain.md)."""

import datetime as dt

from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.core.months import add_months, month_start

QUARTER_END_MONTHS = (3, 6, 9, 12)  # their returns are filed in January, April, July and October


class PeriodStatus(models.TextChoices):
    SUMMARY_DUE = "summary_due", _("待抄报")
    RETURN_DUE = "return_due", _("待申报")
    CLEAR_DUE = "clear_due", _("待清卡")
    NO_RETURN_THIS_MONTH = "no_return", _("本月无需申报")
    DONE = "done", _("已完成")
    LOCKED = "locked", _("已锁死")


# Statuses in which the device may be cleared now.
READY_TO_CLEAR = (PeriodStatus.CLEAR_DUE, PeriodStatus.NO_RETURN_THIS_MONTH)


def working_month(today: dt.date) -> dt.date:
    """The period being worked on: the cycle for month M is worked in M+1."""
    return add_months(month_start(today), -1)


def return_due(frequency: str, period_month: dt.date) -> bool:
    """Monthly filers file every period; quarterly filers only for a quarter's last month."""
    return frequency == "monthly" or period_month.month in QUARTER_END_MONTHS


def period_status(
    *,
    return_required: bool,
    summary_uploaded: bool,
    return_filed: bool,
    cleared: bool,
    locked: bool,
    today: dt.date,
    deadline: dt.date,
) -> PeriodStatus:
    """One period's status.

    A cleared period is done, even if it was locked before being cleared late. Otherwise a period
    past its deadline, or reported locked by its device, is locked. A quarterly filer's month
    without a return still needs 抄报 and 清卡: after 抄报 it reads 本月无需申报 where a monthly
    filer would read 待申报, and it is ready to clear.
    """
    if cleared:
        return PeriodStatus.DONE
    if locked or today > deadline:
        return PeriodStatus.LOCKED
    if not summary_uploaded:
        return PeriodStatus.SUMMARY_DUE
    if not return_required:
        return PeriodStatus.NO_RETURN_THIS_MONTH
    if not return_filed:
        return PeriodStatus.RETURN_DUE
    return PeriodStatus.CLEAR_DUE
