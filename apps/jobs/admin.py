from django.contrib import admin

from apps.core.admin import ReadOnlyAdmin

from .models import Job, SweepRecord


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "kind",
        "device",
        "period",
        "state",
        "attempts",
        "error_code",
        "run_after",
        "finished_at",
        "requested_by",
    )
    list_filter = ("state", "kind", "error_code", "device__agent", "device__simulated")
    search_fields = ("device__number", "device__client__name", "device__client__taxpayer_id", "error_code")
    list_select_related = ("device", "device__client", "period", "period__client", "requested_by")
    raw_id_fields = ("device", "period")
    readonly_fields = (
        "state",
        "attempts",
        "error_code",
        "raw_code",
        "error_message",
        "already_done",
        "result",
        "queued_at",
        "started_at",
        "finished_at",
        "lease_expires_at",
        "requested_by",
        "created_at",
    )


@admin.register(SweepRecord)
class SweepRecordAdmin(ReadOnlyAdmin):
    """When the sweep last finished, read only (also on /healthz)."""

    list_display = ("finished_at", "resumed_at", "counts")
