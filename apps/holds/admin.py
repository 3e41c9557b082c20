from django.contrib import admin

from apps.core.admin import ReadOnlyAdmin

from .models import Hold


@admin.register(Hold)
class HoldAdmin(ReadOnlyAdmin):
    """Holds are made by the system and released on the 需要处理 page."""

    list_display = ("device", "reason", "error_code", "created_at", "released_at", "released_by", "release")
    list_filter = ("reason", "release")
    search_fields = ("device__number", "device__client__name")
    list_select_related = ("device__client", "released_by")
