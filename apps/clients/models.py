from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.accounts.models import UnlockPolicy
from apps.core import clock
from apps.core.permissions import restrict

from . import identifiers


class TaxpayerKind(models.TextChoices):
    GENERAL = "general", _("一般纳税人")
    SMALL_SCALE = "small_scale", _("小规模纳税人")


class FilingFrequency(models.TextChoices):
    MONTHLY = "monthly", _("按月申报")
    QUARTERLY = "quarterly", _("按季申报")


DEFAULT_FREQUENCY: dict[str, str] = {
    TaxpayerKind.GENERAL: FilingFrequency.MONTHLY,
    TaxpayerKind.SMALL_SCALE: FilingFrequency.QUARTERLY,
}


class InvoicingMode(models.TextChoices):
    """How a client invoices in a month (docs/domain.md, "Clients without devices: 数电")."""

    TAX_CONTROL = "tax_control", _("税控")
    DIGITAL = "digital", _("数电")
    DUAL = "dual", _("双轨")


def mode_in(changes, month) -> str:
    """The mode of the latest change starting in or before `month`; 税控 before any change."""
    started = [change for change in changes if change.from_month <= month]
    return max(started, key=lambda change: change.from_month).mode if started else InvoicingMode.TAX_CONTROL


def validate_taxpayer_id(value):
    try:
        identifiers.validate(value)
    except identifiers.InvalidIdentifier as error:
        raise ValidationError(str(error), code="invalid_taxpayer_id") from None


def staff_error(user) -> str | None:
    """Why `user` cannot be a client's 负责会计, or None. The model, its forms, the API and the
    admin all ask here."""
    if user is None:
        return None
    if user.role != user.Role.ACCOUNTANT:
        return _("负责会计必须是角色为“会计”的用户，%(user)s 的角色是“%(role)s”") % {
            "user": user,
            "role": user.get_role_display(),
        }
    if not user.is_active:
        return _("负责会计 %(user)s 已停用") % {"user": user}
    return None


class ClientQuerySet(models.QuerySet):
    def visible_to(self, user):
        return restrict(self, user)


class Client(models.Model):
    name = models.CharField(_("客户名称"), max_length=200, db_index=True)
    taxpayer_id = models.CharField(
        _("纳税人识别号"),
        max_length=20,
        unique=True,
        validators=[validate_taxpayer_id],
        help_text=_("统一社会信用代码（18位），或旧纳税人识别号（15、18、20位）"),
    )
    taxpayer_id_legacy = models.BooleanField(_("旧纳税人识别号"), default=False, editable=False)
    taxpayer_kind = models.CharField(_("纳税人类型"), max_length=16, choices=TaxpayerKind.choices)
    filing_frequency_override = models.CharField(
        _("增值税申报周期（手动指定）"),
        max_length=16,
        choices=FilingFrequency.choices,
        blank=True,
        help_text=_("留空则按纳税人类型：一般纳税人按月，小规模纳税人按季"),
    )
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("负责会计"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="clients",
        limit_choices_to={"role": "accountant", "is_active": True},
    )
    unlock_policy = models.CharField(
        _("锁死设备的处理方式（本客户）"),
        max_length=16,
        choices=UnlockPolicy.choices,
        blank=True,
        help_text=_("留空按事务所设置；客户在其他地区、当地税务机关做法不同时单独指定"),
    )
    active = models.BooleanField(_("服务中"), default=True)
    contact_name = models.CharField(_("联系人"), max_length=64, blank=True)
    contact_phone = models.CharField(_("联系电话"), max_length=32, blank=True)
    notes = models.TextField(_("备注"), blank=True)
    created_at = models.DateTimeField(_("创建时间"), default=clock.now, editable=False)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = ClientQuerySet.as_manager()

    class Meta:
        verbose_name = _("客户")
        verbose_name_plural = _("客户")
        ordering = ["name"]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        identifier = identifiers.validate(self.taxpayer_id)
        self.taxpayer_id, self.taxpayer_id_legacy = identifier.value, identifier.legacy
        super().save(*args, **kwargs)

    @property
    def audit_client(self):
        return self

    @property
    def filing_frequency(self) -> str:
        return self.filing_frequency_override or DEFAULT_FREQUENCY[self.taxpayer_kind]

    def unlocks_online(self, firm_policy: str | None = None) -> bool:
        """Whether a locked device of this client gets one try online (逾期抄报 then 清卡) once its late
        return is recorded: the client's own setting, else the firm's (`firm_policy` when the caller
        asking for many clients has it; docs/domain.md, unlocking)."""
        from apps.accounts.models import FirmSettings

        policy = self.unlock_policy or firm_policy or FirmSettings.current().unlock_policy
        return policy == UnlockPolicy.ONLINE_FIRST

    def invoicing_mode(self, month) -> str:
        """税控, 数电 or 双轨 in `month` (prefetch invoicing_modes for lists)."""
        if self.pk is None:
            return InvoicingMode.TAX_CONTROL
        return mode_in(self.invoicing_modes.all(), month)

    def clean(self):
        error = staff_error(self.staff) if self.staff_id else None
        if error:
            raise ValidationError({"staff": error})
        if self.taxpayer_id:
            try:
                identifier = identifiers.validate(self.taxpayer_id)
            except identifiers.InvalidIdentifier:
                return  # the field validator reports it
            self.taxpayer_id = identifier.value


class InvoicingModeChange(models.Model):
    """The client invoices in `mode` from `from_month` on, until a later change. Changed through
    apps/clients/modes.set_invoicing_mode, which audits it."""

    client = models.ForeignKey(Client, verbose_name=_("客户"), on_delete=models.CASCADE, related_name="invoicing_modes")
    mode = models.CharField(_("开票方式"), max_length=16, choices=InvoicingMode.choices)
    from_month = models.DateField(_("起始月份"), help_text=_("该月第一天；从这个所属月份起适用"))
    created_at = models.DateTimeField(_("创建时间"), default=clock.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("设置人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("开票方式变更")
        verbose_name_plural = _("开票方式变更")
        ordering = ["client", "from_month"]
        constraints = [
            models.UniqueConstraint(fields=["client", "from_month"], name="invoicing_mode_one_change_per_month")
        ]

    def __str__(self):
        return f"{self.client} {self.from_month:%Y-%m} {self.get_mode_display()}"

    @property
    def audit_client(self):
        return self.client

    def clean(self):
        if self.from_month and self.from_month.day != 1:
            raise ValidationError({"from_month": _("月份须为该月第一天。")})
