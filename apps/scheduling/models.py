from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.core import clock
from apps.core.months import format_month
from apps.jobs.models import JobKind

BATCH_KINDS = [
    (JobKind.CLEAR.value, JobKind.CLEAR.label),
    (JobKind.UPLOAD_SUMMARY.value, JobKind.UPLOAD_SUMMARY.label),
    (JobKind.UPLOAD_AND_CLEAR.value, JobKind.UPLOAD_AND_CLEAR.label),
]


class Batch(models.Model):
    """批量任务: one admin's month-end run over many clients. Its jobs point back at it."""

    kind = models.CharField(_("任务类型"), max_length=20, choices=BATCH_KINDS)
    month = models.DateField(_("所属月份"))
    filters = models.JSONField(_("筛选条件"), default=dict, blank=True)
    start_at = models.DateTimeField(_("计划开始时间"))
    avoid_busy_hours = models.BooleanField(_("避开税局高峰时段"), default=False)
    per_agent_per_minute = models.PositiveSmallIntegerField(
        _("每台前置机每分钟最多任务数"), null=True, blank=True, help_text=_("留空为不限")
    )
    planned_count = models.PositiveIntegerField(_("计划任务数"), default=0)
    created_count = models.PositiveIntegerField(_("已创建任务数"), default=0)
    left_out = models.JSONField(
        _("未纳入的客户与设备"), default=list, blank=True, help_text=_("每项：客户、设备编号、原因")
    )
    token = models.UUIDField(_("提交标识"), unique=True, help_text=_("同一次确认重复提交时不再创建任务"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("发起人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("创建时间"), default=clock.now, editable=False)

    class Meta:
        verbose_name = _("批量任务")
        verbose_name_plural = _("批量任务")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"#{self.pk} {self.get_kind_display()} {format_month(self.month)}"
