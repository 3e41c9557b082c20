"""操作日志: append-only. The model refuses updates and deletes, and on PostgreSQL a trigger
refuses them too, so neither the admin, nor an ORM helper, nor raw SQL rewrites history."""

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.accounts.permissions import restrict
from apps.core import clock


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
    action = models.CharField(_("操作"), max_length=64, db_index=True)
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
