"""Whether a job may go to a device now: one rule for the client page, the API, batches, retries
and the autopilot, so that none of them creates a job another would refuse."""

import datetime as dt
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.accounts.models import FirmSettings
from apps.core.text import Text
from apps.devices.errors import FILED_BEFORE_SUMMARY, OFFLINE_PENDING, error_info
from apps.devices.models import Device, Health, in_service
from apps.holds.models import HoldReason
from apps.periods.models import Period
from apps.periods.rules import READY_TO_CLEAR, PeriodStatus

from .models import JobKind

HOLD_REASONS: dict[str, Text] = {
    HoldReason.PASSWORD: gettext_lazy(
        "设备已暂停：上次任务口令错误，更正口令并解除暂停后才能执行（不自动重试，以免锁定证书）"
    ),
    HoldReason.LOCKED: gettext_lazy("设备已暂停：设备已锁死，到税务机关处理并解除暂停后才能执行"),
    HoldReason.HALL: gettext_lazy(
        "设备已暂停：远程解锁未成功（见税务机关给出的原因），须携带设备到办税服务厅处理并解除暂停后才能执行"
    ),
}
ZOMBIE_DAYS = 90  # no 抄报 for longer: the device is a "zombie", only the tax hall can handle it


def zombie(device: Device, today: dt.date) -> bool:
    """The device's latest 抄报 (zxbsrq) is more than 90 days old (docs/domain.md, the monthly cycle)."""
    zxbsrq = device.monitoring_date("zxbsrq")
    return zxbsrq is not None and (today - zxbsrq).days > ZOMBIE_DAYS


def period_reason(
    kind: str,
    period: Period,
    now: dt.datetime,
    tolerance: Decimal | None = None,
    status: PeriodStatus | None = None,
    unlock_policy: str | None = None,
) -> str | None:
    """Why no device of this client takes a `kind` job for `period` now, or None. `tolerance`,
    `status` (the period's at `now`) and the firm's `unlock_policy`, when the caller asking for many
    periods has them already.

    A locked period (the devices' own word) takes a job only where the client unlocks online
    (先尝试远程清卡) and its late return is recorded: then one try, 逾期抄报 and 清卡, as an unlocked
    period would; a refusal holds the device with the hall as the remedy (outcomes.fail)."""
    if period.digital:
        return _("数电：本期不使用税控设备，无需抄报清卡")
    status = status or period.status(now)
    unlocking = False  # a locked device's one try: its late return comes before the 逾期抄报 by necessity
    if status == PeriodStatus.DONE:
        return _("本期已完成")
    if status == PeriodStatus.LOCKED:
        if period.lock_is_estimate(now):
            return _("已过申报截止日且尚无设备数据，按日历估计已锁死：请先读取设备状态")
        if timezone.localdate(now) <= period.deadline:  # locked before its deadline: not a late period's try
            return _("设备已锁死，须先到税务机关处理")
        if not period.client.unlocks_online(unlock_policy):
            return _("设备已锁死，按设置须到大厅：请携带设备到办税服务厅处理，处理后解除暂停")
        status, unlocking = period.unlocked_status(now), True
        if period.return_required and period.return_filed_on is None:
            return _("设备已锁死且逾期未申报：请先补办申报并记录，再尝试远程逾期抄报、清卡")
    if status == PeriodStatus.NOT_OPEN:
        opens = timezone.localtime(period.window_opens)
        return _("抄报期尚未开始（%(opens)s 起）") % {"opens": f"{opens:%Y-%m-%d %H:%M}"}
    if kind == JobKind.UPLOAD_SUMMARY:
        if status != PeriodStatus.SUMMARY_DUE:
            return _("本期已抄报")
        return None
    # 清卡 and 抄报并清卡: the return must be filed before the bureau gives the clear cipher.
    if period.return_required and period.return_filed_on is None:
        if timezone.localdate(now) > period.deadline:  # whatever the status shows first (待抄报 …)
            return _("逾期未申报：请先补办申报并记录，申报后才能清卡")
        return _("未完成申报（待申报），申报后才能清卡")
    if not unlocking and (refused := filed_before_summary(period)):
        return refused
    if kind == JobKind.CLEAR and status not in READY_TO_CLEAR:
        return _("尚未抄报，请选择“抄报并清卡”")
    if period.declared_sales is None and period.declared_tax is None:
        return None  # 票表比对 needs the return's figures
    tolerance = FirmSettings.current().reconciliation_tolerance if tolerance is None else tolerance
    found = period.reconciliation(tolerance)
    if found is None or not found.holds_clear:
        return None
    if found.summary_missing:
        if kind == JobKind.UPLOAD_AND_CLEAR:
            return _("已记录申报销售额与税额：请先单独抄报，与抄报汇总比对后再清卡，或在客户页确认后清卡")
        return _("没有抄报汇总可比对：申报销售额与税额无从与开票数据核对；请核对后在客户页确认，再清卡")
    return _(
        "票表比对不一致：申报销售额与开票金额相差 %(sales)s 元，税额相差 %(tax)s 元（容差 %(tolerance)s 元）；"
        "请核对后在客户页确认，或更正申报，再清卡"
    ) % {
        "sales": "—" if found.sales_gap is None else f"{found.sales_gap:+.2f}",
        "tax": "—" if found.tax_gap is None else f"{found.tax_gap:+.2f}",
        "tolerance": f"{tolerance:.2f}",
    }


def filed_before_summary(period: Period) -> str | None:
    """先申报后抄报: the return recorded for `period` is dated before the period's 抄报 (Period.summary_day).
    The bureau compares the return with the 抄报's invoices, so the clear would fail; the refusal is
    the catalogue's FILED_BEFORE_SUMMARY, with its remedy (docs/domain.md, checks before a device is touched)."""
    if period.return_filed_on is None:  # most periods in a pass: spare reading the devices
        return None
    summary_on = period.summary_day()
    if summary_on is None or period.return_filed_on >= summary_on:
        return None
    info = error_info(FILED_BEFORE_SUMMARY)
    return _("%(message)s（申报 %(filed)s，抄报 %(summary)s），清卡不会通过：%(remedy)s") % {
        "message": info.message,
        "filed": period.return_filed_on,
        "summary": summary_on,
        "remedy": info.remedy,
    }


def offline_pending(device: Device) -> int:
    """Invoices issued offline that the device's latest reading says are still only on it."""
    pending = (device.monitoring or {}).get("offline_pending")
    return pending if isinstance(pending, int) and pending > 0 else 0


def first_kind(kind: str, device: Device) -> str:
    """The job a device takes first when `kind` is asked of it: 上传离线发票 before a 抄报 while offline
    invoices are on it (the 抄报 is refused until then, offline_refusal); the 抄报 comes once it succeeded."""
    summary = kind in (JobKind.UPLOAD_SUMMARY, JobKind.UPLOAD_AND_CLEAR)
    return JobKind.UPLOAD_OFFLINE if summary and offline_pending(device) else kind


def offline_refusal(device: Device) -> str | None:
    """Why the device takes no 抄报 now: offline invoices still on it (the catalogue's OFFLINE_PENDING)."""
    pending = offline_pending(device)
    if not pending:
        return None
    info = error_info(OFFLINE_PENDING)
    return _("%(message)s（%(n)d 张），不能抄报：%(remedy)s") % {
        "message": info.message,
        "n": pending,
        "remedy": info.remedy,
    }


def unschedulable_reason(device: Device, month: dt.date | None = None) -> str | None:
    """Why no job can reach this device's hardware now, or None. `month`: the period of the job, which
    a device retired from a later month still serves (in_service)."""
    if device.health != Health.GOOD and not (device.health == Health.RETIRED and in_service(device, month)):
        return _("设备健康状况为“%(health)s”") % {"health": device.get_health_display()}
    agent = device.agent
    if agent is None:
        return _("设备未分配前置机")
    if not agent.enabled or agent.health != Health.GOOD:
        return _("前置机“%(agent)s”已停用或不可用") % {"agent": agent}
    if not agent.online:
        return _("前置机“%(agent)s”离线") % {"agent": agent}
    if not device.present:
        return _("设备不在位（未插入前置机）")
    return None


def device_reason(device: Device, hold_reason: str | None, month: dt.date | None = None) -> str | None:
    """Why this device takes no new job (for the period of `month`): a hold, a certificate with no
    tries left, or its hardware."""
    if hold_reason:
        return str(HOLD_REASONS[hold_reason])
    tries_left = (device.monitoring or {}).get("cert_tries_left")
    if isinstance(tries_left, int) and tries_left <= 0:
        return _("证书口令已锁定（剩余尝试次数为0），须到税务机关解锁")
    return unschedulable_reason(device, month)


def refusal_reason(
    kind: str,
    device: Device | None,
    period: Period | None,
    now: dt.datetime,
    *,
    hold_reason: str | None,
    has_active_job: bool,
    tolerance: Decimal | None = None,
    status: PeriodStatus | None = None,
    month: dt.date | None = None,
    uploads_first: bool = False,
) -> str | None:
    """Why a `kind` job for `period` on `device` is refused now, or None: the period first, then
    the device, then a job of the same kind already under way. `month`: the period's, where the
    caller asked the period's half already and gives no `period`. 上传离线发票 asks nothing of the
    period (it stands before a 抄报, first_kind), only that the device has invoices to upload.
    `uploads_first`: the caller makes that 上传离线发票 in place of the 抄报 where offline invoices wait,
    so they refuse nothing."""
    if period is not None and kind not in (JobKind.READ_STATUS, JobKind.UPLOAD_OFFLINE):
        reason = period_reason(kind, period, now, tolerance, status)
        if reason:
            return reason
    if device is None:
        return _("客户没有登记税控设备")
    if kind == JobKind.UPLOAD_OFFLINE and not offline_pending(device):
        return _("设备没有待上传的离线发票，无需上传")
    if kind in (JobKind.UPLOAD_SUMMARY, JobKind.UPLOAD_AND_CLEAR):
        if zombie(device, timezone.localdate(now)):
            # checked before the device is touched: the bureau refuses it (202) and the try is wasted
            return _("设备超过90天未抄报（最新报税日期 %(day)s），远程抄报不会成功：请携带设备到办税服务厅处理") % {
                "day": device.monitoring_date("zxbsrq")
            }
        if not uploads_first and (refused := offline_refusal(device)):
            return refused
    month = period.month if period is not None else month
    return device_reason(device, hold_reason, month) or (_("该设备已有同类任务在进行中") if has_active_job else None)
