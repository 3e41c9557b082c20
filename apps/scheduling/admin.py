from django.contrib import admin

from .models import Batch


@admin.register(Batch)
class BatchAdmin(admin.ModelAdmin):
    """Batches are made on the 批量清卡 page; here they are read."""

    list_display = ("id", "kind", "month", "start_at", "planned_count", "created_count", "created_by", "created_at")
    list_filter = ("kind", "month", "avoid_busy_hours")
    search_fields = ("created_by__username", "created_by__display_name")
    list_select_related = ("created_by",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
