"""The state of one device, derived from its own clock and monitoring data (docs/domain.md)."""

import datetime as dt

from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.core.months import month_index


class DeviceCycleState(models.TextChoices):
    SUMMARY_DUE = "summary_due", _("待抄报")
    CLEAR_DUE = "clear_due", _("待清卡")
    DONE = "done", _("已完成")
    LOCKED = "locked", _("已锁死")


def device_cycle_state(now: dt.date, zxbsrq: dt.date, kpjzsj: dt.date) -> DeviceCycleState:
    """Calendar months are compared; a device past its 开票截止日期 is locked whatever else holds."""
    if now > kpjzsj:
        return DeviceCycleState.LOCKED
    if month_index(now) > month_index(zxbsrq) and month_index(now) >= month_index(kpjzsj):
        return DeviceCycleState.SUMMARY_DUE
    if month_index(now) >= month_index(kpjzsj):
        return DeviceCycleState.CLEAR_DUE
    return DeviceCycleState.DONE


def shows_summarised(period_month: dt.date, zxbsrq: dt.date | None) -> bool:
    """The device's latest 抄报 is from after the period: its summary is uploaded."""
    return zxbsrq is not None and month_index(zxbsrq) > month_index(period_month)


def shows_cleared(period_month: dt.date, kpjzsj: dt.date | None) -> bool:
    """kpjzsj has moved past the month after the period: the device is cleared for it."""
    return kpjzsj is not None and month_index(kpjzsj) > month_index(period_month) + 1


def device_locked(lock_date: dt.date | None, locked_reported: bool, today: dt.date) -> bool | None:
    """What the device itself says about 锁死: it answered 248 / 0x09d109, or its 开票截止日期
    has passed. None when it has told us nothing yet."""
    if locked_reported:
        return True
    return None if lock_date is None else today > lock_date
