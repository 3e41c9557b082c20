from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.core import clock
from apps.core.permissions import restrict


class IllegalTransition(Exception):
    pass


class JobKind(models.TextChoices):
    READ_STATUS = "read_status", _("读取状态")
    UPLOAD_SUMMARY = "upload_summary", _("抄报")
    CLEAR = "clear", _("清卡")
    UPLOAD_AND_CLEAR = "upload_and_clear", _("抄报并清卡")
    QUERY_INVOICES = "query_invoices", _("发票查询")
    POWER_CYCLE = "power_cycle", _("重新上电")
    UPLOAD_OFFLINE = "upload_offline", _("上传离线发票")


# The kinds that 抄报 (upload the summary) and those that 清卡 (clear); 抄报并清卡 does both.
SUMMARY_KINDS = (JobKind.UPLOAD_SUMMARY, JobKind.UPLOAD_AND_CLEAR)
CLEAR_KINDS = (JobKind.CLEAR, JobKind.UPLOAD_AND_CLEAR)


class Origin(models.TextChoices):
    """Who made the job: a person (client page, API), a batch, or the standing cycle."""

    PERSON = "person", _("人工")
    BATCH = "batch", _("批量任务")
    AUTOPILOT = "autopilot", _("自动清卡")


class JobState(models.TextChoices):
    SCHEDULED = "scheduled", _("已计划")
    QUEUED = "queued", _("排队中")
    RUNNING = "running", _("执行中")
    SUCCEEDED = "succeeded", _("成功")
    FAILED = "failed", _("失败")
    CANCELLED = "cancelled", _("已取消")


S = JobState
TRANSITIONS: dict[str, set[JobState]] = {
    S.SCHEDULED: {S.QUEUED, S.CANCELLED},
    # the QUEUED steps past RUNNING: the late result of an earlier attempt, while no one claimed this one
    S.QUEUED: {S.RUNNING, S.CANCELLED, S.SUCCEEDED, S.FAILED, S.SCHEDULED},
    # back to SCHEDULED: a retry after backoff; back to QUEUED: the lease expired, one more attempt
    S.RUNNING: {S.SUCCEEDED, S.FAILED, S.SCHEDULED, S.QUEUED},
    S.FAILED: {S.SCHEDULED},  # retried by a person
    S.SUCCEEDED: set(),
    S.CANCELLED: set(),
}
ACTIVE_STATES = (S.SCHEDULED, S.QUEUED, S.RUNNING)
FINISHED_STATES = (S.SUCCEEDED, S.FAILED, S.CANCELLED)
NOT_STARTED_STATES = (S.SCHEDULED, S.QUEUED)


class JobQuerySet(models.QuerySet):
    def visible_to(self, user):
        return restrict(self, user, "device__client__")

    def move(self, from_state: str, to: str, **changes) -> int:
        """Job.move for many jobs in one statement: those of this queryset still in `from_state`
        move to `to`, if that is a legal step, with `changes`. Returns how many moved."""
        if to not in TRANSITIONS[from_state]:
            raise IllegalTransition(f"jobs: {from_state} → {to} is not allowed")
        return self.filter(state=from_state).update(state=to, **changes)

    def cycle_work(self):
        """Jobs that speak of the month's cycle: a 发票查询 only reads invoices and a 重新上电 only
        restarts a port, so neither hides the outcome of the job before it (a failed clear stays the
        client's last job)."""
        return self.exclude(kind__in=(JobKind.QUERY_INVOICES, JobKind.POWER_CYCLE))


class Job(models.Model):
    """设备任务. The row is the truth; a queue message only points at (id, attempt)."""

    kind = models.CharField(_("任务类型"), max_length=20, choices=JobKind.choices)
    device = models.ForeignKey(
        "devices.Device", verbose_name=_("税控设备"), on_delete=models.PROTECT, related_name="jobs"
    )
    period = models.ForeignKey(
        "periods.Period",
        verbose_name=_("申报期"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="jobs",
    )
    state = models.CharField(
        _("状态"), max_length=16, choices=JobState.choices, default=JobState.SCHEDULED, db_index=True
    )
    origin = models.CharField(_("来源"), max_length=16, choices=Origin.choices, default=Origin.PERSON, db_index=True)
    run_after = models.DateTimeField(_("最早执行时间"), default=clock.now, db_index=True)
    attempts = models.PositiveSmallIntegerField(_("已尝试次数"), default=0)
    max_attempts = models.PositiveSmallIntegerField(_("最多尝试次数"), default=5)
    error_code = models.CharField(_("错误代码"), max_length=32, blank=True)
    raw_code = models.CharField(_("设备原始代码"), max_length=32, blank=True)
    error_message = models.TextField(_("错误信息"), blank=True)
    already_done = models.BooleanField(_("此前已完成"), default=False)
    query = models.JSONField(_("查询条件"), null=True, blank=True, help_text=_("发票查询的月份，或发票代码与号码"))
    result = models.JSONField(_("结果数据"), null=True, blank=True)
    late_results = models.JSONField(
        _("迟到的结果"), default=list, blank=True, help_text=_("新的尝试已开始之后才送达的结果，留作凭证")
    )
    result_pages = models.JSONField(
        _("已收到的结果分页"),
        default=dict,
        blank=True,
        help_text=_("分页回报的发票查询结果：哪一次尝试、共几页、已收到的各页收下和未收下的发票数"),
    )
    batch = models.ForeignKey(
        "scheduling.Batch",
        verbose_name=_("批量任务"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="jobs",
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("发起人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("创建时间"), default=clock.now, editable=False)
    queued_at = models.DateTimeField(_("入队时间"), null=True, blank=True)
    last_sent_at = models.DateTimeField(_("最近发送消息"), null=True, blank=True)
    started_at = models.DateTimeField(_("开始时间"), null=True, blank=True)
    finished_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    lease_expires_at = models.DateTimeField(_("租约到期"), null=True, blank=True)

    objects = JobQuerySet.as_manager()

    class Meta:
        verbose_name = _("设备任务")
        verbose_name_plural = _("设备任务")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["state", "run_after"]), models.Index(fields=["device", "-created_at"])]

    def __str__(self):
        return f"#{self.pk} {self.get_kind_display()} {self.device.number}"

    @property
    def audit_client(self):
        return self.device.client

    def move(self, to: str, **changes) -> bool:
        """Moves the job to state `to` if that is a legal step, setting `changes` with it.

        The update is conditional on the state and attempt this object holds (healthchecks'
        pattern, no locks): False means another process moved the job first; nothing was written."""
        if to not in TRANSITIONS[self.state]:
            raise IllegalTransition(f"job {self.pk}: {self.state} → {to} is not allowed")
        updated = Job.objects.filter(pk=self.pk, state=self.state, attempts=self.attempts).update(state=to, **changes)
        if updated:
            self.state = to
            for field, value in changes.items():
                setattr(self, field, value)
        return bool(updated)


class SweepRecord(models.Model):
    """When the periodic sweep last finished: kept in the database, which outlives a Redis flush,
    so /healthz and the dashboard can tell that the sweep stopped, and the sweep can tell that it
    was away itself (apps/operations/sweeper.py)."""

    finished_at = models.DateTimeField(_("最近巡检完成"))
    resumed_at = models.DateTimeField(_("中断后恢复"), null=True, blank=True)
    counts = models.JSONField(_("巡检结果"), default=dict)

    class Meta:
        verbose_name = _("后台巡检")
        verbose_name_plural = _("后台巡检")

    def __str__(self):
        return f"{self.finished_at:%Y-%m-%d %H:%M:%S}"
