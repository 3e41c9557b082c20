from django.contrib import admin

from .models import Invoice


@admin.register(Invoice)
class InvoiceAdmin(admin.ModelAdmin):
    """Read only: invoices come from the devices' own answers (发票查询), never by hand."""

    list_display = ["code", "number", "kind", "issued_at", "amount", "tax", "device", "uploaded", "reported_at"]
    list_filter = ["kind", "uploaded"]
    search_fields = ["code", "number", "buyer", "device__number", "device__client__name"]
    list_select_related = ["device"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
