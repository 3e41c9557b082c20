"""自动清卡: the firm's standing cycle, its options, and the clients taken out of it."""

import datetime as dt
from itertools import takewhile

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.core import clock


class Autopilot(models.Model):
    """One row: whether the cycle runs, and its limits."""

    enabled = models.BooleanField(_("开启自动清卡"), default=False)
    avoid_busy_hours = models.BooleanField(
        _("避开税局高峰时段（9:00–11:00、14:00–16:00）"), default=True, help_text=_("落在高峰时段的任务顺延到时段结束")
    )
    per_agent_per_minute = models.PositiveSmallIntegerField(
        _("每台前置机每分钟最多任务数"), default=60, validators=[MinValueValidator(1), MaxValueValidator(600)]
    )
    work_in_last_hour = models.BooleanField(
        _("开票截止日最后一小时内仍开始新任务"), default=False, help_text=_("默认不在设备锁死前最后一小时开始新任务")
    )
    reminder_days = models.PositiveSmallIntegerField(
        _("申报截止前提醒天数"),
        default=3,
        validators=[MinValueValidator(0), MaxValueValidator(15)],
        help_text=_("截止前这么多天仍未记录申报的客户列入“需要处理”"),
    )
    last_pass_at = models.DateTimeField(_("最近一轮"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("自动清卡设置")
        verbose_name_plural = _("自动清卡设置")

    def __str__(self):
        return str(_("自动清卡设置"))

    @classmethod
    def current(cls) -> "Autopilot":
        return cls.objects.get_or_create(pk=1)[0]


class Exclusion(models.Model):
    """A client taken out of the cycle, with the reason: its jobs are made by people only."""

    client = models.OneToOneField(
        "clients.Client", verbose_name=_("客户"), on_delete=models.CASCADE, related_name="autopilot_exclusion"
    )
    reason = models.CharField(_("原因"), max_length=200)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("操作人"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("时间"), default=clock.now, editable=False)

    class Meta:
        verbose_name = _("不参与自动清卡的客户")
        verbose_name_plural = _("不参与自动清卡的客户")

    def __str__(self):
        return f"{self.client}：{self.reason}"

    @property
    def audit_client(self):
        return self.client


class Skip(models.TextChoices):
    """Why a pass gave a client or a device nothing."""

    EXCLUDED = "excluded", _("不参与自动清卡")
    DIGITAL = "digital", _("数电月份，无需抄报清卡")
    NO_DEVICE = "no_device", _("没有在用的税控设备")
    NOT_OPEN = "not_open", _("抄报期尚未开始")
    DONE = "done", _("本期已完成")
    RETURN = "return", _("等待记录申报")
    LOCKED = "locked", _("设备已锁死，等待处理")
    RECONCILE = "reconcile", _("票表比对待确认")
    BUSY = "busy", _("已有任务在进行")
    FAILED = "failed", _("上次任务失败，等待人工处理")
    REPEAT = "repeat", _("已有任务成功，不再重复（期间状态与任务不符，请核对）")
    LAST_HOUR = "last_hour", _("设备锁死前最后一小时，不开始新任务")
    HELD = "held", _("设备已暂停")
    AGENT = "agent", _("前置机离线、停用或未分配")
    ABSENT = "absent", _("设备不在位")
    DEVICE = "device", _("设备不可用")


CLIENT_SKIPS = (Skip.EXCLUDED, Skip.DIGITAL, Skip.NO_DEVICE)  # counted in clients; the others in devices
# A device's work is due but it got no job, and none is under way: what 需要处理 names.
BLOCKING = (Skip.FAILED, Skip.REPEAT, Skip.LAST_HOUR, Skip.HELD, Skip.AGENT, Skip.ABSENT, Skip.DEVICE)


class Deferral(models.TextChoices):
    """Why a job a pass made starts later than the pass."""

    PEAK = "peak", _("避开税局高峰时段，顺延到时段结束")
    RATE = "rate", _("受每台前置机每分钟任务数限制，排到下一轮之后")


def _labelled(choices, counts: dict, unit) -> list[tuple[str, int, str]]:
    """(label, count, unit) in the choices' order, the zeros left out."""
    return [(str(choice.label), counts[choice], str(unit(choice))) for choice in choices if counts.get(choice)]


STREAK_LOOKED_AT = 50  # records read back to find when the passes stopped making anything


class PassRecord(models.Model):
    """What a pass of the cycle did and did not do, and why, in counts. Passes in a row that made
    nothing with the same outcome share one record (`passes`); the newest KEPT records are kept."""

    KEPT = 500

    started_at = models.DateTimeField(_("开始"))
    last_at = models.DateTimeField(_("最近一轮"))
    passes = models.PositiveIntegerField(_("轮数"), default=1)
    made = models.JSONField(_("创建的任务"), default=dict)  # job kind → jobs
    deferred = models.JSONField(_("推迟开始的任务"), default=dict)  # Deferral → jobs
    skipped = models.JSONField(_("未处理"), default=dict)  # Skip → clients or devices
    waiting = models.JSONField(_("待办而未能创建"), default=dict)  # job kind → devices it was due on

    class Meta:
        verbose_name = _("自动清卡记录")
        verbose_name_plural = _("自动清卡记录")
        ordering = ["-pk"]

    def __str__(self):
        return f"{self.started_at:%Y-%m-%d %H:%M}（{self.passes}）"

    @property
    def skipped_labelled(self) -> list[tuple[str, int, str]]:
        return _labelled(Skip, self.skipped, lambda skip: _("户") if skip in CLIENT_SKIPS else _("台"))

    @property
    def deferred_labelled(self) -> list[tuple[str, int, str]]:
        return _labelled(Deferral, self.deferred, lambda _deferral: _("个"))

    @property
    def idle_with_work_due(self) -> bool:
        return not any(self.made.values()) and any(self.waiting.values())

    @property
    def main_reason(self) -> tuple[str, int] | None:
        """The reason most devices with work due got nothing for, and how many."""
        found = [(self.skipped[skip], skip) for skip in BLOCKING if self.skipped.get(skip)]
        if not found:
            return None
        count, skip = max(found)
        return str(Skip(skip).label), count


def stalled(interval: dt.timedelta) -> tuple[dt.datetime, PassRecord] | None:
    """(since when, the latest record) when the passes made nothing while work was due on some
    device for at least `interval`, as the passes themselves saw it; else None."""
    latest = list(PassRecord.objects.all()[:STREAK_LOOKED_AT])
    streak = list(takewhile(lambda record: record.idle_with_work_due, latest))
    if not streak or streak[0].last_at - streak[-1].started_at < interval:
        return None
    return streak[-1].started_at, streak[0]
