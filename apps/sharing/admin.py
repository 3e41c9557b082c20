from django.contrib import admin

from .models import ShareLink


@admin.register(ShareLink)
class ShareLinkAdmin(admin.ModelAdmin):
    """Links are created and revoked on the client page, where it is audited; here they are read."""

    list_display = ("client", "created_by", "created_at", "expires_at", "revoked_at", "revoked_by")
    list_filter = ("created_at", "expires_at")
    search_fields = ("client__name", "client__taxpayer_id")
    list_select_related = ("client", "created_by", "revoked_by")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
