from django.contrib import admin

from . import services
from .models import CalendarFeed, FilingDeadline


@admin.register(FilingDeadline)
class FilingDeadlineAdmin(admin.ModelAdmin):
    list_display = ("month", "deadline", "source", "reference", "updated_at")
    list_filter = ("source",)
    search_fields = ("reference",)
    date_hierarchy = "month"
    readonly_fields = ("source", "updated_at")

    def get_readonly_fields(self, request, obj=None):
        return (*self.readonly_fields, "month") if obj else self.readonly_fields

    def save_model(self, request, obj, form, change):
        # Like the calendar page: an admin's date is 管理员录入, audited, and carried to the periods.
        row = services.set_deadline(obj.month, obj.deadline, obj.reference, user=request.user, request=request)
        obj.pk, obj.source = row.pk, row.source


@admin.register(CalendarFeed)
class CalendarFeedAdmin(admin.ModelAdmin):
    """Who has a calendar feed; deleting one revokes its key. The key itself is never shown."""

    list_display = ("user", "created_at")
    search_fields = ("user__username", "user__display_name")
    fields = ("user", "created_at")
    readonly_fields = ("user", "created_at")

    def has_add_permission(self, request):
        return False
