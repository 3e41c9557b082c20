from django.contrib import admin

from .models import AuditEvent
from .trail import AuditedAdmin


@admin.register(AuditEvent)
class AuditEventAdmin(AuditedAdmin, admin.ModelAdmin):
    list_display = (
        "created_at",
        "actor_label",
        "action",
        "object_type",
        "object_label",
        "client",
        "simulated",
        "source",
    )
    list_filter = ("action", "object_type", "simulated", "created_at")
    search_fields = ("actor_label", "object_label", "object_id", "action", "client__name")
    date_hierarchy = "created_at"

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
