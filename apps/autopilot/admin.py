from django.contrib import admin

from apps.core.admin import ReadOnlyAdmin

from .models import Autopilot, Exclusion, PassRecord


@admin.register(Autopilot)
class AutopilotAdmin(ReadOnlyAdmin):
    """Changed on the 自动清卡 page."""

    list_display = ("enabled", "avoid_busy_hours", "per_agent_per_minute", "work_in_last_hour", "last_pass_at")


@admin.register(Exclusion)
class ExclusionAdmin(ReadOnlyAdmin):
    """Set on the client's page."""

    list_display = ("client", "reason", "created_by", "created_at")
    search_fields = ("client__name", "reason")
    list_select_related = ("client", "created_by")


@admin.register(PassRecord)
class PassRecordAdmin(ReadOnlyAdmin):
    """Written by the passes; read on the 自动清卡 page."""

    list_display = ("started_at", "last_at", "passes", "made", "skipped", "waiting")
