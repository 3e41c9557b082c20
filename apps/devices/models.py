import datetime as dt
import hashlib
import hmac
import secrets

from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.core import clock
from apps.core.fields import EncryptedTextField
from apps.core.text import visible
from apps.core.tokens import hash_token

from .rules import DeviceCycleState, device_cycle_state, device_locked


class Health(models.TextChoices):
    """Set by people and by outcomes, never by the system's own bookkeeping (that is `state`)."""

    GOOD = "good", _("正常")
    BAD = "bad", _("故障")
    MAINTENANCE = "maintenance", _("维护中")
    RETIRED = "retired", _("已停用")


def in_service(device: "Device", month: dt.date | None = None) -> bool:
    """A device the client still uses: every device but a retired one (已停用) is counted for the
    client's period, its status, its jobs and the counts. `month`: for the work of that period, where
    a device retired from a later month (Device.retired_from: the client went 数电) still serves.
    DeviceQuerySet.in_service() is the same rule in SQL; in_service_q() the same rule through a join
    (docs/domain.md, "Devices in service")."""
    if device.health != Health.RETIRED:
        return True
    return month is not None and device.retired_from is not None and month < device.retired_from


def in_service_q(prefix: str = "", month=None) -> models.Q:
    """in_service() as a condition on `prefix`health, e.g. in_service_q("devices__") from a client;
    `month` a date or an expression (OuterRef("month"))."""
    condition = ~models.Q(**{f"{prefix}health": Health.RETIRED})
    if month is not None:
        condition |= models.Q(**{f"{prefix}retired_from__gt": month})
    return condition


def locked_q(today: dt.date, prefix: str = "") -> models.Q:
    """rules.device_locked() is True, in SQL: the device answered 248 / 0x09d109, or its
    开票截止日期 is before `today`."""
    return models.Q(**{f"{prefix}locked_reported": True}) | models.Q(**{f"{prefix}lock_date__lt": today})


def lock_known_q(prefix: str = "") -> models.Q:
    """rules.device_locked() is not None, in SQL: the device has told us something about its lock."""
    return models.Q(**{f"{prefix}locked_reported": True}) | models.Q(**{f"{prefix}lock_date__isnull": False})


class DeviceQuerySet(models.QuerySet):
    def in_service(self, month=None) -> "DeviceQuerySet":
        """The devices in_service() keeps: retired ones (已停用) left out, but for `month`'s work those
        retired from a later month."""
        return self.filter(in_service_q(month=month))

    def locked(self, today: dt.date) -> "DeviceQuerySet":
        """Devices that say they are locked on `today` (rules.device_locked), in service or not."""
        return self.filter(locked_q(today))

    def lock_known(self) -> "DeviceQuerySet":
        return self.filter(lock_known_q())


def signing_key_for(token: str) -> bytes:
    """The key both sides derive from the agent token to sign job messages (docs/agent-protocol.md)."""
    return hashlib.sha256(f"qingka-job-signing:{token}".encode()).digest()


class Agent(models.Model):
    name = models.CharField(_("名称"), max_length=64, unique=True)
    location = models.CharField(_("位置"), max_length=128, blank=True)
    token_hash = models.CharField(_("令牌摘要"), max_length=64, unique=True, editable=False)
    signing_key = EncryptedTextField(_("任务签名密钥"), editable=False)
    enabled = models.BooleanField(_("启用"), default=True)
    health = models.CharField(_("健康状况"), max_length=16, choices=Health.choices, default=Health.GOOD)
    last_heartbeat_at = models.DateTimeField(_("最近心跳"), null=True, blank=True)
    online = models.BooleanField(_("在线"), default=False, editable=False)
    version = models.CharField(_("版本"), max_length=32, blank=True, editable=False)
    hostname = models.CharField(_("主机名"), max_length=128, blank=True, editable=False)
    # What the inventory rows were written from; a heartbeat reporting the same set writes nothing.
    inventory_digest = models.CharField(max_length=64, blank=True, editable=False)
    created_at = models.DateTimeField(_("创建时间"), default=clock.now, editable=False)

    class Meta:
        verbose_name = _("前置机")
        verbose_name_plural = _("前置机")
        ordering = ["name"]

    def __str__(self):
        return self.name

    def clean(self):
        # before the uniqueness check: "甲" followed by a zero-width space is the name "甲"
        self.name = visible(self.name)

    @property
    def queue_name(self) -> str:
        return f"agent.{self.pk}"

    def set_new_token(self) -> str:
        """Makes a new token and returns it; only its hash and the derived signing key are kept."""
        token = secrets.token_urlsafe(32)
        self.token_hash = hash_token(token)
        self.signing_key = signing_key_for(token).hex()
        return token

    def sign(self, job_id: int, attempt: int) -> str:
        return hmac.new(bytes.fromhex(self.signing_key), f"{job_id}:{attempt}".encode(), hashlib.sha256).hexdigest()


class InventoryRow(models.Model):
    """One device an agent reported in its last heartbeat that changed the set, including devices
    no client owns yet, so staff can map a slot to a client. Kept off the agent row: the agent is
    loaded on every agent call, its inventory only where someone looks at it."""

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="inventory")
    slot = models.CharField(_("插槽"), max_length=64)
    kind = models.CharField(_("设备类型"), max_length=16, blank=True)
    driver = models.CharField(_("驱动"), max_length=32)
    device_number = models.CharField(_("设备编号"), max_length=12, blank=True)
    simulated = models.BooleanField(_("模拟设备"), default=False)
    usb = models.JSONField(_("USB 标识"), null=True, blank=True)

    class Meta:
        verbose_name = _("前置机清点")
        verbose_name_plural = _("前置机清点")
        ordering = ["agent", "slot"]

    def __str__(self):
        return f"{self.agent} {self.slot} {self.device_number or '—'}"


class DeviceKind(models.TextChoices):
    GOLDEN_TAX_DISK = "golden_tax_disk", _("金税盘")
    TAX_DISK = "tax_disk", _("税控盘")
    UKEY = "ukey", _("税务UKey")


DEFAULT_PASSWORDS: dict[str, tuple[str, str]] = {
    DeviceKind.GOLDEN_TAX_DISK: ("12345678", "23456789"),
    DeviceKind.TAX_DISK: ("12345678", "88888888"),
    DeviceKind.UKEY: ("12345678", "88888888"),
}


class Device(models.Model):
    SECRET_FIELDS = ("certificate_password", "device_password")  # decrypted on load: defer where unused
    kind = models.CharField(_("设备类型"), max_length=16, choices=DeviceKind.choices)
    number = models.CharField(
        _("设备编号"),
        max_length=12,
        unique=True,
        validators=[RegexValidator(r"^\d{12}$", _("设备编号应为12位数字"))],
    )
    client = models.ForeignKey(
        "clients.Client", verbose_name=_("客户"), on_delete=models.PROTECT, related_name="devices"
    )
    sub_number = models.PositiveSmallIntegerField(_("开票机号"), default=0, help_text=_("0 为主机，其余为分机"))
    agent = models.ForeignKey(
        Agent,
        verbose_name=_("所在前置机"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="devices",
    )
    slot = models.CharField(_("插槽"), max_length=64, blank=True, help_text=_("USB 总线与端口路径，如 1-1.4.2"))
    certificate_password = EncryptedTextField(_("证书口令"), blank=True)
    device_password = EncryptedTextField(_("设备口令"), blank=True)
    simulated = models.BooleanField(_("模拟设备"), default=False)
    health = models.CharField(_("健康状况"), max_length=16, choices=Health.choices, default=Health.GOOD)
    retired_from = models.DateField(
        _("停用起始月份"),
        null=True,
        blank=True,
        help_text=_("客户转为数电时设定：从这个所属月份起不再使用，之前各期仍用它抄报清卡"),
    )
    deregistered_at = models.DateTimeField(
        _("已注销"), null=True, blank=True, help_text=_("在税务机关办理注销的时间（由人员标记）")
    )
    # Set by the system from the agent's reports.
    present = models.BooleanField(_("在位"), default=False, editable=False)
    busy = models.BooleanField(_("占用中"), default=False, editable=False)
    last_seen_at = models.DateTimeField(_("最近发现"), null=True, blank=True, editable=False)
    monitoring = models.JSONField(_("监控管理信息"), null=True, blank=True, editable=False)
    monitored_at = models.DateTimeField(_("监控信息读取时间"), null=True, blank=True, editable=False)
    # The lock facts of the latest reading, as columns so lists can derive 已锁死 in SQL.
    lock_date = models.DateField(_("开票截止日期"), null=True, blank=True, editable=False)
    locked_reported = models.BooleanField(
        _("设备报告已锁死"),
        default=False,
        editable=False,
        help_text=_("设备返回 248 / 0x09d109，直到新的读数表明已解锁"),
    )
    # What `monitoring` was written from, the device's clock left out: a reading that only moved
    # the clock is not written again.
    monitoring_digest = models.CharField(max_length=64, blank=True, editable=False)
    # Another agent reports this device: it moves there only when a person approves.
    pending_agent = models.ForeignKey(
        Agent,
        verbose_name=_("待批准的新前置机"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    created_at = models.DateTimeField(_("创建时间"), default=clock.now, editable=False)

    objects = DeviceQuerySet.as_manager()

    class Meta:
        verbose_name = _("税控设备")
        verbose_name_plural = _("税控设备")
        ordering = ["client__name", "sub_number"]
        constraints = [
            models.UniqueConstraint(fields=["client", "sub_number"], name="device_unique_sub_number_per_client"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.number}"

    def save(self, *args, **kwargs):
        if self._state.adding:
            default_certificate, default_device = DEFAULT_PASSWORDS[self.kind]
            self.certificate_password = self.certificate_password or default_certificate
            self.device_password = self.device_password or default_device
        super().save(*args, **kwargs)

    @property
    def audit_client(self):
        return self.client

    def read_lock(self, at: dt.datetime) -> None:
        """The lock facts of the reading now in `monitoring`, read at `at`: its lock date, and a
        248 / 0x09d109 answered before forgotten once a reading shows the device unlocked."""
        self.lock_date = self.monitoring_date("kpjzsj")
        if self.lock_date and self.lock_date >= timezone.localdate(at):
            self.locked_reported = False

    def lock_state(self, today: dt.date) -> bool | None:
        return device_locked(self.lock_date, self.locked_reported, today)

    def monitoring_date(self, field: str) -> dt.date | None:
        """A date of the stored monitoring data; None when absent or not a date (a reading stored
        before values were checked on arrival must not break a page)."""
        value = (self.monitoring or {}).get(field) if isinstance(self.monitoring, dict) else None
        try:
            return dt.date.fromisoformat(value) if isinstance(value, str) and value else None
        except ValueError:
            return None

    @property
    def unreadable_monitoring(self) -> dict:
        """Values the device reported that the site could not read, kept raw (monitoring.py)."""
        kept = (self.monitoring or {}).get("unreadable") if isinstance(self.monitoring, dict) else None
        return kept if isinstance(kept, dict) else {}

    def cycle_state(self, today: dt.date | None = None) -> DeviceCycleState | None:
        """From the last monitoring snapshot; None until the device has been read once."""
        zxbsrq, kpjzsj = self.monitoring_date("zxbsrq"), self.monitoring_date("kpjzsj")
        if not (zxbsrq and kpjzsj):
            return None
        return device_cycle_state(today or clock.today(), zxbsrq, kpjzsj)


class Reading(models.Model):
    """监控记录: a device's monitoring data as read at one moment. A new row is kept only when the
    data differ from the device's last reading (apps/devices/services.record_reading)."""

    device = models.ForeignKey(Device, verbose_name=_("税控设备"), on_delete=models.CASCADE, related_name="readings")
    at = models.DateTimeField(_("读取时间"))
    monitoring = models.JSONField(_("监控管理信息"))

    class Meta:
        verbose_name = _("监控记录")
        verbose_name_plural = _("监控记录")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["device", "-at"])]

    def __str__(self):
        return f"{self.device} {self.at:%Y-%m-%d %H:%M}"

    def date(self, field: str) -> dt.date | None:
        value = self.monitoring.get(field)
        try:
            return dt.date.fromisoformat(value) if value else None
        except (TypeError, ValueError):
            return None


def share_agents(devices: list[Device]) -> None:
    """Gives each device its agent from one copy per agent: for thousands of devices on a few
    agents this is cheaper than select_related, which builds an Agent for every device."""
    agents = Agent.objects.defer("signing_key").in_bulk({device.agent_id for device in devices} - {None})
    for device in devices:
        device.agent = agents.get(device.agent_id)
