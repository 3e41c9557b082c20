from typing import cast

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from apps.accounts import second_factor
from apps.accounts.fresh_code import FreshCodeFormMixin
from apps.audit import log
from apps.audit.models import Action
from apps.core.admin import ReadOnlyAdmin

from . import broker, services
from .models import Agent, Device, InventoryRow, Reading


class InventoryInline(admin.TabularInline):
    model = InventoryRow
    fields = ("slot", "kind", "driver", "device_number", "simulated")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Agent)
class AgentAdmin(admin.ModelAdmin):
    list_display = ("name", "location", "enabled", "health", "online", "last_heartbeat_at", "version", "hostname")
    list_filter = ("enabled", "health", "online")
    search_fields = ("name", "location", "hostname")
    readonly_fields = ("online", "last_heartbeat_at", "version", "hostname", "created_at")
    actions = ["issue_new_token"]
    inlines = [InventoryInline]

    def save_model(self, request, obj, form, change):
        token = None if change else obj.set_new_token()
        super().save_model(request, obj, form, change)
        if token:
            log.record(Action.AGENT_CREATED, obj, request=request)
            self.message_user(request, _("前置机令牌（只显示这一次）：%(token)s") % {"token": token}, messages.WARNING)
        self._broker_user(request, obj, shown=bool(token))

    def _broker_user(self, request, agent, shown):
        """The agent's own Redis user (apps/devices/broker.py), made with its token; its URL is
        shown with the token."""
        if not broker.try_ensure_agent_user(agent):
            self.message_user(request, _("前置机的 Redis 用户未能创建，请运行 manage.py broker_users"), messages.ERROR)
        elif shown:
            self.message_user(
                request,
                _("前置机的任务队列地址（qingka-agent init --broker，只显示这一次）：%(url)s")
                % {"url": broker.agent_broker_url(agent)},
                messages.WARNING,
            )

    @admin.action(description=_("重新生成令牌"))
    def issue_new_token(self, request, queryset):
        for agent in queryset:
            token = agent.set_new_token()
            agent.save(update_fields=["token_hash", "signing_key"])
            log.record(Action.AGENT_TOKEN_REISSUED, agent, request=request)
            self._broker_user(request, agent, shown=True)
            self.message_user(
                request,
                _("%(agent)s 的新令牌（只显示这一次）：%(token)s") % {"agent": agent, "token": token},
                messages.WARNING,
            )


class DeviceAdminForm(FreshCodeFormMixin, forms.ModelForm):
    """Passwords are write-only: an empty box keeps the stored one. Setting one asks the second
    factor again (issue 27; holds/forms.ReleaseForm says why)."""

    code_help = _("填写新口令时须填写")

    new_certificate_password = forms.CharField(
        label=_("证书口令"), required=False, widget=forms.PasswordInput, help_text=_("留空则不修改")
    )
    new_device_password = forms.CharField(
        label=_("设备口令"), required=False, widget=forms.PasswordInput, help_text=_("留空则不修改")
    )

    class Meta:
        model = Device
        fields = ("kind", "number", "client", "sub_number", "agent", "slot", "simulated", "health")

    def needs_fresh_code(self) -> bool:
        return bool(self.cleaned_data["new_certificate_password"] or self.cleaned_data["new_device_password"])

    def save(self, commit=True):
        device = super().save(commit=False)
        if self.cleaned_data["new_certificate_password"]:
            device.certificate_password = self.cleaned_data["new_certificate_password"]
        if self.cleaned_data["new_device_password"]:
            device.device_password = self.cleaned_data["new_device_password"]
        if commit:
            device.save()
        return device


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    form = DeviceAdminForm
    list_display = (
        "number",
        "kind",
        "client",
        "sub_number",
        "agent",
        "slot",
        "simulated",
        "health",
        "present",
        "busy",
        "monitored_at",
        "pending_agent",
    )
    list_filter = ("kind", "agent", "health", "present", "simulated", ("pending_agent", admin.EmptyFieldListFilter))
    actions = ["approve_move"]
    search_fields = ("number", "client__name", "client__taxpayer_id", "slot")
    autocomplete_fields = ("client",)
    list_select_related = ("client", "agent", "pending_agent")
    readonly_fields = (
        "present",
        "busy",
        "last_seen_at",
        "monitoring",
        "monitored_at",
        "pending_agent",
        "created_at",
    )

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        # A class made for this request: the admin gives its form no user.
        cast(type[DeviceAdminForm], form).acting_user = request.user
        return form

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        return fields if second_factor.has_factor(request.user) else [name for name in fields if name != "code"]

    @admin.action(description=_("批准设备迁移到新前置机"))
    def approve_move(self, request, queryset):
        """A device another agent reported stays with its holder until a person approves here;
        only then do its jobs, and its passwords, go to the new agent."""
        moved = sum(services.approve_move(device, request.user, request) for device in queryset)
        self.message_user(request, _("已批准 %(n)d 台设备迁移") % {"n": moved}, messages.SUCCESS)


@admin.register(InventoryRow)
class InventoryRowAdmin(ReadOnlyAdmin):
    """What agents last reported, read only: it is written by their heartbeats."""

    list_display = ("agent", "slot", "kind", "driver", "device_number", "simulated")
    list_filter = ("agent", "driver", "simulated")
    search_fields = ("device_number", "slot")


@admin.register(Reading)
class ReadingAdmin(ReadOnlyAdmin):
    """The devices' monitoring history, as reported: read only."""

    list_display = ("device", "at")
    search_fields = ("device__number", "device__client__name")
    date_hierarchy = "at"
    list_select_related = ("device",)
