"""自动清卡: the firm's standing cycle, its options, and the clients taken out of it."""

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
    last_pass = models.JSONField(_("最近一轮创建的任务"), default=dict, blank=True, editable=False)

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
