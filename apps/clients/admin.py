from django.contrib import admin

from apps.core.admin import ReadOnlyAdmin

from .models import Client, InvoicingModeChange


@admin.register(Client)
class ClientAdmin(admin.ModelAdmin):
    list_display = ("name", "taxpayer_id", "taxpayer_id_legacy", "taxpayer_kind", "filing_frequency", "staff", "active")
    list_filter = ("taxpayer_kind", "filing_frequency_override", "active", "taxpayer_id_legacy", "staff")
    search_fields = ("name", "taxpayer_id", "contact_name", "contact_phone")
    readonly_fields = ("taxpayer_id_legacy", "created_at", "updated_at")
    autocomplete_fields = ("staff",)


@admin.register(InvoicingModeChange)
class InvoicingModeChangeAdmin(ReadOnlyAdmin):
    """A mode changes through the client page or the API (clients/modes.set_invoicing_mode), which audits it."""

    list_display = ("client", "mode", "from_month", "created_at", "created_by")
    list_filter = ("mode",)
    search_fields = ("client__name", "client__taxpayer_id")
