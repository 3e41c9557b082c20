from django.contrib import admin

from .models import Client


@admin.register(Client)
class ClientAdmin(admin.ModelAdmin):
    list_display = ("name", "taxpayer_id", "taxpayer_id_legacy", "taxpayer_kind", "filing_frequency", "staff", "active")
    list_filter = ("taxpayer_kind", "filing_frequency_override", "active", "taxpayer_id_legacy", "staff")
    search_fields = ("name", "taxpayer_id", "contact_name", "contact_phone")
    readonly_fields = ("taxpayer_id_legacy", "created_at", "updated_at")
    autocomplete_fields = ("staff",)
