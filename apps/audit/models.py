"""操作日志: append-only. The model refuses updates and deletes, and on PostgreSQL a trigger
refuses them too, so neither the admin, nor an ORM helper, nor raw SQL rewrites history."""

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.core import clock
from apps.core.permissions import restrict


class AppendOnlyError(Exception):
    pass


class AuditEventQuerySet(models.QuerySet):
    def visible_to(self, user):
        """A 会计 sees the events of their own clients only (not those about agents or other
        things without a client)."""
        return restrict(self, user, "client__")

    def update(self, **kwargs):
        raise AppendOnlyError("audit events cannot be changed")

    def delete(self):
        raise AppendOnlyError("audit events cannot be deleted")

    def bulk_update(self, *args, **kwargs):
        raise AppendOnlyError("audit events cannot be changed")


class Action(models.TextChoices):
    """Every action the site writes to the audit log, with its label: log.build refuses any other."""

    AGENT_CREATED = "agent.created", _("新建前置机")
    AGENT_TOKEN_REISSUED = "agent.token_reissued", _("重新签发前置机令牌")
    AGENT_ONLINE = "agent.online", _("前置机上线")
    AGENT_OFFLINE = "agent.offline", _("前置机离线")
    CLIENT_CREATED = "client.created", _("新建客户")
    CLIENT_UPDATED = "client.updated", _("修改客户")
    CLIENT_INVOICING_MODE = "client.invoicing_mode", _("设置开票方式")
    DEVICE_CREATED = "device.created", _("新建税控设备")
    DEVICE_UPDATED = "device.updated", _("修改税控设备")
    DEVICE_PRESENT = "device.present", _("设备在位")
    DEVICE_MISSING = "device.missing", _("设备不在位")
    DEVICE_MOVE_REQUESTED = "device.move_requested", _("其他前置机报告了该设备，待批准迁移")
    DEVICE_MOVE_APPROVED = "device.move_approved", _("批准设备迁移到新前置机")
    DEVICE_HEALTH_BAD = "device.health_bad", _("设备标记为故障")
    DEVICE_LOCKED = "device.locked", _("设备报告已锁死")
    DEVICE_HELD = "device.held", _("设备暂停")
    DEVICE_HOLD_RELEASED = "device.hold_released", _("解除设备暂停")
    DEVICE_RETIRED = "device.retired", _("停用设备（开票方式转为数电）")
    DEVICE_REINSTATED = "device.reinstated", _("恢复使用设备（开票方式不再是数电）")
    DEVICE_DEREGISTERED = "device.deregistered", _("标记设备已在税务机关注销")
    CHANNEL_CREATED = "channel.created", _("添加通知渠道")
    CHANNEL_REMOVED = "channel.removed", _("删除通知渠道")
    AUTOPILOT_CHANGED = "autopilot.changed", _("修改自动清卡设置")
    AUTOPILOT_CLIENT_EXCLUDED = "autopilot.client_excluded", _("客户不参与自动清卡")
    AUTOPILOT_CLIENT_INCLUDED = "autopilot.client_included", _("客户重新参与自动清卡")
    JOB_REQUESTED = "job.requested", _("发起任务")
    JOB_STARTED = "job.started", _("任务开始执行")
    JOB_SUCCEEDED = "job.succeeded", _("任务成功")
    JOB_FAILED = "job.failed", _("任务失败")
    JOB_LATE_RESULT_KEPT = "job.late_result_kept", _("迟到的结果已留作凭证")
    JOB_RESULT_PARKED = "job.result_parked", _("前置机多次提交结果失败，已暂停重发")
    JOB_RETRY_SCHEDULED = "job.retry_scheduled", _("任务将自动重试")
    JOB_LEASE_EXPIRED = "job.lease_expired", _("任务回报超时")
    JOB_CANCELLED = "job.cancelled", _("取消任务")
    JOB_RETRIED = "job.retried", _("重试任务")
    PERIOD_SUMMARY_UPLOADED = "period.summary_uploaded", _("抄报完成")
    PERIOD_CLEARED = "period.cleared", _("清卡完成")
    PERIOD_RETURN_FILED = "period.return_filed", _("记录申报")
    PERIOD_RECONCILIATION_CONFIRMED = "period.reconciliation_confirmed", _("确认票表比对差异")
    BATCH_CREATED = "batch.created", _("创建批量任务")
    SHARE_LINK_CREATED = "share_link.created", _("创建状态分享链接")
    SHARE_LINK_REVOKED = "share_link.revoked", _("撤销状态分享链接")
    FILING_DEADLINE_CHANGED = "filing_deadline.changed", _("修改申报截止日")
    CALENDAR_FEED_CREATED = "calendar_feed.created", _("生成日历订阅地址")
    CALENDAR_FEED_RENEWED = "calendar_feed.renewed", _("重新生成日历订阅地址")
    CALENDAR_FEED_REVOKED = "calendar_feed.revoked", _("停用日历订阅地址")
    ACCOUNT_LOGGED_IN = "account.logged_in", _("登录")
    ACCOUNT_LOGGED_OUT = "account.logged_out", _("退出登录")
    ACCOUNT_LOGIN_FAILED = "account.login_failed", _("登录失败")
    ACCOUNT_LOCKED_OUT = "account.locked_out", _("登录失败次数过多，已暂时锁定")
    ACCOUNT_PASSWORD_RESET_REQUESTED = "account.password_reset_requested", _("申请重置密码")
    ACCOUNT_SECOND_FACTOR_ENABLED = "account.second_factor_enabled", _("启用两步验证")
    ACCOUNT_SECOND_FACTOR_DISABLED = "account.second_factor_disabled", _("停用两步验证")
    ACCOUNT_SECOND_FACTOR_PASSED = "account.second_factor_passed", _("两步验证通过")
    ACCOUNT_SECOND_FACTOR_FAILED = "account.second_factor_failed", _("两步验证失败")
    ADMIN_ADDED = "admin.added", _("在后台新增")
    ADMIN_CHANGED = "admin.changed", _("在后台修改")
    ADMIN_DELETED = "admin.deleted", _("在后台删除")
    API_TOKEN_CREATED = "api_token.created", _("创建 API 令牌")
    API_TOKEN_REVOKED = "api_token.revoked", _("撤销 API 令牌")
    API_TOKEN_REVOKED_ALL = "api_token.revoked_all", _("撤销全部 API 令牌")


class AuditEvent(models.Model):
    created_at = models.DateTimeField(_("时间"), default=clock.now, editable=False, db_index=True)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作用户"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    actor_agent = models.ForeignKey(
        "devices.Agent",
        verbose_name=_("操作前置机"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    actor_label = models.CharField(_("操作者"), max_length=150)
    action = models.CharField(_("操作"), max_length=64, db_index=True)  # an Action, checked by log.build
    object_type = models.CharField(_("对象类型"), max_length=64, db_index=True)
    object_id = models.CharField(_("对象编号"), max_length=64, db_index=True)
    object_label = models.CharField(_("对象"), max_length=255)
    client = models.ForeignKey(
        "clients.Client",
        verbose_name=_("客户"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="audit_events",
    )
    before = models.JSONField(_("变更前"), null=True, blank=True, encoder=DjangoJSONEncoder)
    after = models.JSONField(_("变更后"), null=True, blank=True, encoder=DjangoJSONEncoder)
    source = models.CharField(_("来源"), max_length=255, blank=True, help_text=_("IP 地址或前置机主机名"))
    simulated = models.BooleanField(_("模拟设备"), default=False)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("操作日志")
        verbose_name_plural = _("操作日志")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.object_label}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("audit events cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("audit events cannot be deleted")
