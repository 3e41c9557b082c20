"""Notifications: channels (the firm's and each staff member's), the notifications the site
decided to send (one row per event, with a key so one event is never sent twice), and each
delivery to a channel with its outcome."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.core import clock
from apps.core.fields import EncryptedTextField

BROKEN_AFTER_FAILURES = 3  # deliveries failed in a row: the channel shows as broken on 需要处理


class Event(models.TextChoices):
    DEVICE_HELD = "device_held", _("口令错误或设备锁死")
    AGENT_OFFLINE = "agent_offline", _("前置机离线")
    DEVICE_MISSING = "device_missing", _("征期内设备不在位")
    BATCH_FAILED = "batch_failed", _("批量任务完成但有失败")
    DAILY_DIGEST = "daily_digest", _("每日待办（09:00）")
    WEEKLY_SUMMARY = "weekly_summary", _("每周月末汇总")
    DEADLINES_MISSING = "deadlines_missing", _("次年征期尚未录入")
    TEST = "test", _("测试消息")


class Channel(models.Model):
    """Where notifications go: an apprise URL (WeCom, DingTalk, Feishu/Lark, json://, mailto://)
    or django-mail://address for the site's own mail settings. The URL is a secret."""

    name = models.CharField(_("名称"), max_length=64)
    url = EncryptedTextField(_("地址"))
    events = models.JSONField(_("接收的事件"), default=list, blank=True, help_text=_("留空则接收全部事件"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("所属人员"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notification_channels",
        help_text=_("留空则为事务所的渠道"),
    )
    failures_in_a_row = models.PositiveSmallIntegerField(_("连续失败次数"), default=0, editable=False)
    created_at = models.DateTimeField(_("创建时间"), default=clock.now, editable=False)

    class Meta:
        verbose_name = _("通知渠道")
        verbose_name_plural = _("通知渠道")
        ordering = ["user_id", "name", "pk"]

    def __str__(self):
        return self.name

    @property
    def broken(self) -> bool:
        return self.failures_in_a_row >= BROKEN_AFTER_FAILURES

    @property
    def masked_url(self) -> str:
        """Enough to recognise the channel, never enough to use it."""
        scheme, _sep, rest = self.url.partition("://")
        return f"{scheme}://…{rest[-4:]}" if len(rest) > 8 else f"{scheme}://…"

    @property
    def event_labels(self) -> list[str]:
        return [str(Event(code).label) for code in self.events if code in Event.values]

    def wants(self, event: str) -> bool:
        return not self.events or event in self.events


class Notification(models.Model):
    """One event the site decided to tell people about; recorded even when no channel takes it."""

    key = models.CharField(_("事件标识"), max_length=200, unique=True)
    event = models.CharField(_("事件"), max_length=32, choices=Event.choices)
    subject = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("内容"))
    url = models.CharField(_("链接"), max_length=500, blank=True)
    client = models.ForeignKey(
        "clients.Client", verbose_name=_("客户"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recipients = models.ManyToManyField(settings.AUTH_USER_MODEL, verbose_name=_("接收人员"), blank=True)
    created_at = models.DateTimeField(_("时间"), default=clock.now, editable=False, db_index=True)

    class Meta:
        verbose_name = _("通知")
        verbose_name_plural = _("通知")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.subject

    @property
    def audit_client(self):
        return self.client


class DeliveryState(models.TextChoices):
    PENDING = "pending", _("待发送")
    SENDING = "sending", _("发送中")
    SENT = "sent", _("已发送")
    FAILED = "failed", _("发送失败")


class Delivery(models.Model):
    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.ForeignKey(Channel, verbose_name=_("渠道"), on_delete=models.CASCADE, related_name="deliveries")
    state = models.CharField(_("状态"), max_length=16, choices=DeliveryState.choices, default=DeliveryState.PENDING)
    attempts = models.PositiveSmallIntegerField(_("尝试次数"), default=0)
    last_error = models.TextField(_("最近错误"), blank=True)
    updated_at = models.DateTimeField(_("更新时间"), default=clock.now)
    sent_at = models.DateTimeField(_("发送时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("发送记录")
        verbose_name_plural = _("发送记录")
        constraints = [models.UniqueConstraint(fields=["notification", "channel"], name="delivery_once_per_channel")]

    def __str__(self):
        return f"{self.notification} → {self.channel}"
