"""批量清卡 rules: which devices a month-end batch may take, and when each job runs.

Plain functions over model objects (saved or not) so that every rule is tested on its own."""

import datetime as dt
from collections import defaultdict

from django.utils import timezone
from django.utils.translation import gettext as _

from apps.devices.models import Device
from apps.jobs.errors import error_info
from apps.jobs.models import JobKind
from apps.jobs.pipeline import unschedulable_reason
from apps.periods.models import Period
from apps.periods.rules import READY_TO_CLEAR, PeriodStatus

# The tax bureau's busy hours (local time): a job planned inside one moves to its end.
BUSY_HOURS = ((dt.time(9, 0), dt.time(11, 0)), (dt.time(14, 0), dt.time(16, 0)))
DEFAULT_PER_AGENT_PER_MINUTE = 10
# A device whose last job failed on one of these is never tried again blindly: each wrong
# 证书口令 costs one of the few tries before the certificate locks (docs/domain.md).
PASSWORD_ERRORS = ("CERT_PASSWORD_WRONG", "CERT_LOCKED", "DEVICE_PASSWORD_WRONG", "DEVICE_PASSWORD_LOCKED")


def period_reason(kind: str, period: Period, now: dt.datetime) -> str | None:
    """Why no device of this client takes a `kind` job for `period` now, or None."""
    status = period.status(now)
    if status == PeriodStatus.DONE:
        return _("本期已完成")
    if status == PeriodStatus.LOCKED:
        if period.lock_is_estimate(now):
            return _("已过申报截止日且尚无设备数据，按日历估计已锁死：请先读取设备状态")
        return _("设备已锁死，须先到税务机关处理")
    if status == PeriodStatus.NOT_OPEN:
        opens = timezone.localtime(period.window_opens)
        return _("抄报期尚未开始（%(opens)s 起）") % {"opens": f"{opens:%Y-%m-%d %H:%M}"}
    if kind == JobKind.UPLOAD_SUMMARY:
        if status != PeriodStatus.SUMMARY_DUE:
            return _("本期已抄报")
        return None
    # 清卡 and 抄报并清卡: the return must be filed before the bureau gives the clear cipher.
    if period.return_required and period.return_filed_on is None:
        if status == PeriodStatus.RETURN_OVERDUE:
            return _("逾期未申报：请先补办申报并记录，申报后才能清卡")
        return _("未完成申报（待申报），申报后才能清卡")
    if kind == JobKind.CLEAR and status not in READY_TO_CLEAR:
        return _("尚未抄报，请选择“抄报并清卡”")
    return None


def password_reason(device: Device, last_error_code: str | None) -> str | None:
    """A device whose certificate has no tries left, or whose last job failed on a password."""
    tries_left = (device.monitoring or {}).get("cert_tries_left")
    if tries_left is not None and int(tries_left) <= 0:
        return _("证书口令已锁定（剩余尝试次数为0），须到税务机关解锁")
    if last_error_code in PASSWORD_ERRORS:
        return _("上次任务失败：%(error)s。更正口令并确认无误后再执行，不自动重试") % {
            "error": error_info(last_error_code).message
        }
    return None


def exclusion_reason(
    kind: str,
    period: Period,
    device: Device | None,
    *,
    now: dt.datetime,
    last_error_code: str | None = None,
    has_active_job: bool = False,
) -> str | None:
    """Why this client's device is left out of a `kind` batch for `period`, or None when it
    takes a job. `device` None: the client has no device at all. `last_error_code`: the error
    of the device's last finished job when it failed. `has_active_job`: the device already has
    an unfinished job of this kind for this period."""
    reason = period_reason(kind, period, now)
    if reason:
        return reason
    if device is None:
        return _("客户没有登记税控设备")
    return (
        password_reason(device, last_error_code)
        or unschedulable_reason(device)
        or (_("该设备已有同类任务在进行中") if has_active_job else None)
    )


# --- when each job runs ------------------------------------------------------------------------


def outside_busy_hours(moment: dt.datetime) -> dt.datetime:
    """`moment`, or the end of the busy window it falls in (local time, end excluded)."""
    local = timezone.localtime(moment)
    for start, end in BUSY_HOURS:
        if start <= local.time() < end:
            return local.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
    return moment


def plan(
    devices,
    start: dt.datetime,
    *,
    per_agent_per_minute: int = DEFAULT_PER_AGENT_PER_MINUTE,
    avoid_busy_hours: bool = False,
) -> list[tuple[Device, dt.datetime]]:
    """(device, run_after) for each device, in the order given.

    Each agent works through its own devices from `start`, one job every 60/N seconds, so no
    agent gets more than N jobs in any minute; agents run in parallel. With `avoid_busy_hours`
    a time inside 9:00–11:00 or 14:00–16:00 moves to the end of that window and the agent's
    following jobs go on from there, still spaced."""
    if per_agent_per_minute < 1:
        raise ValueError("per_agent_per_minute must be at least 1")
    step = dt.timedelta(seconds=60 / per_agent_per_minute)
    cursor: dict[int | None, dt.datetime] = defaultdict(lambda: start)
    planned = []
    for device in devices:
        moment = cursor[device.agent_id]
        if avoid_busy_hours:
            moment = outside_busy_hours(moment)
        planned.append((device, moment))
        cursor[device.agent_id] = moment + step
    return planned
