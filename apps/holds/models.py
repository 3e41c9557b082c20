"""A hold stops every new job to a device until a person releases it: after a password failure
(each wrong 证书口令 costs one of a few tries), while the device is locked (where the firm goes to
the hall), and after the device or the bureau refused its one try to unlock online (须到大厅). Pages, the API,
batches, retries and the autopilot all ask jobs/rules.py, which asks here."""

from django.conf import settings
from django.db import models
from django.db.models import OuterRef, Q, Subquery
from django.utils.translation import gettext_lazy as _

from apps.core import clock


class HoldReason(models.TextChoices):
    PASSWORD = "password", _("口令错误")
    LOCKED = "locked", _("设备锁死")
    HALL = "hall", _("须到大厅")  # the device or the bureau refused its one try to unlock online


class Release(models.TextChoices):
    PASSWORD_CORRECTED = "password_corrected", _("口令已更正")
    HANDLED = "handled", _("已处理")


class HoldQuerySet(models.QuerySet):
    def active(self):
        return self.filter(released_at__isnull=True)


class Hold(models.Model):
    device = models.ForeignKey(
        "devices.Device", verbose_name=_("税控设备"), on_delete=models.CASCADE, related_name="holds"
    )
    reason = models.CharField(_("原因"), max_length=16, choices=HoldReason.choices)
    error_code = models.CharField(_("错误代码"), max_length=32, blank=True)
    message = models.TextField(_("设备返回信息"), blank=True)
    job = models.ForeignKey(
        "jobs.Job", verbose_name=_("失败的任务"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    lock_date = models.DateField(_("锁死时的开票截止日期"), null=True, blank=True)
    created_at = models.DateTimeField(_("暂停时间"), default=clock.now, editable=False)
    released_at = models.DateTimeField(_("解除时间"), null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("解除人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    release = models.CharField(_("解除方式"), max_length=24, choices=Release.choices, blank=True)
    note = models.TextField(_("处理说明"), blank=True)

    objects = HoldQuerySet.as_manager()

    class Meta:
        verbose_name = _("设备暂停")
        verbose_name_plural = _("设备暂停")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["device"], condition=Q(released_at__isnull=True), name="hold_one_active_per_device"
            )
        ]

    def __str__(self):
        return f"{self.device} {self.get_reason_display()}"

    @property
    def audit_client(self):
        return self.device.client

    @property
    def active(self) -> bool:
        return self.released_at is None

    @property
    def described(self) -> str:
        """What stopped the device, in one sentence with one number: for a wrong 证书口令, the tries
        left from the device's reading when that reading came after the failure (the newest word),
        else the device's own message at the failure; never both (they can disagree: the reading
        before the failure still counts the try the failure used)."""
        from apps.devices.errors import PASSWORD_CODES, error_label

        device = self.device
        tries = (device.monitoring or {}).get("cert_tries_left")
        fresh = device.monitored_at is not None and device.monitored_at >= self.created_at
        if (
            self.error_code in PASSWORD_CODES
            and self.error_code.startswith("CERT_")
            and isinstance(tries, int)
            and fresh
        ):
            return _("%(message)s，剩余 %(n)d 次") % {"message": error_label(self.error_code), "n": tries}
        if self.message:
            return self.message
        return error_label(self.error_code) if self.error_code else str(self.get_reason_display())


def active_hold_reason():
    """The reason of a device's active hold, or None: annotate devices with it (`hold_reason`)."""
    return Subquery(Hold.objects.active().filter(device=OuterRef("pk")).values("reason")[:1])


def hold_reason_of(device) -> str | None:
    """The device's active hold reason: from the `hold_reason` annotation when the query made one."""
    if hasattr(device, "hold_reason"):
        return device.hold_reason
    return Hold.objects.active().filter(device=device).values_list("reason", flat=True).first()
