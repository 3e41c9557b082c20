import datetime as dt
import secrets
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.core import clock


class User(AbstractUser):
    class Role(models.TextChoices):
        ADMIN = "admin", _("管理员")
        ACCOUNTANT = "accountant", _("会计")
        READONLY = "readonly", _("只读")

    role = models.CharField(_("角色"), max_length=16, choices=Role.choices, default=Role.READONLY)
    display_name = models.CharField(_("姓名"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")

    def __str__(self):
        return self.display_name or self.username

    @property
    def is_firm_admin(self) -> bool:
        return self.is_superuser or self.role == self.Role.ADMIN


class ApiTokenQuerySet(models.QuerySet):
    def active(self, now: dt.datetime):
        return self.filter(revoked_at=None, expires_at__gt=now)


class ApiToken(models.Model):
    """A person's API token: only its hash is kept; it expires, and can be revoked."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("用户"), on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(_("用途"), max_length=64)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(_("令牌开头"), max_length=8, editable=False)
    created_at = models.DateTimeField(_("创建时间"), default=clock.now, editable=False)
    expires_at = models.DateTimeField(_("失效时间"))
    revoked_at = models.DateTimeField(_("撤销时间"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("最近使用"), null=True, blank=True, editable=False)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        verbose_name = _("API令牌")
        verbose_name_plural = _("API令牌")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.user} · {self.name} ({self.prefix}…)"

    @staticmethod
    def new_key() -> str:
        return secrets.token_urlsafe(32)

    def is_active(self, now: dt.datetime) -> bool:
        return self.revoked_at is None and now < self.expires_at


class UnlockPolicy(models.TextChoices):
    """What the firm does with a device locked after the deadline (docs/domain.md, unlocking)."""

    ONLINE_FIRST = "online_first", _("先尝试远程清卡")
    HALL = "hall", _("须到大厅")


class FirmSettings(models.Model):
    """The firm's own choices, one row, changed by 管理员 in the admin."""

    require_admin_second_factor = models.BooleanField(
        _("管理员必须使用两步验证"),
        default=False,
        help_text=_("开启后，管理员登录时须输入验证器应用中的动态验证码；尚未设置的须先设置"),
    )
    reconciliation_tolerance = models.DecimalField(
        _("票表比对容差（元）"),
        max_digits=12,
        decimal_places=2,
        default=Decimal("10.00"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text=_("申报销售额或税额与抄报上传的开票汇总相差超过此金额时，暂停清卡，直到有人核对确认或更正申报"),
    )

    unlock_policy = models.CharField(
        _("锁死设备的处理方式"),
        max_length=16,
        choices=UnlockPolicy.choices,
        default=UnlockPolicy.ONLINE_FIRST,
        help_text=_(
            "先尝试远程清卡：逾期申报记录后，锁死的设备自动或手动尝试一次逾期抄报、清卡，被拒绝后暂停并提示到大厅；"
            "须到大厅：锁死的设备不再尝试，到办税服务厅处理。其他地区的客户可在客户资料中单独设置"
        ),
    )

    class Meta:
        verbose_name = _("事务所设置")
        verbose_name_plural = _("事务所设置")

    def __str__(self):
        return str(_("事务所设置"))

    @classmethod
    def current(cls) -> "FirmSettings":
        return cls.objects.get_or_create(pk=1)[0]
