from django.contrib import admin

from .models import FilingDeadline, Source


@admin.register(FilingDeadline)
class FilingDeadlineAdmin(admin.ModelAdmin):
    list_display = ("month", "deadline", "source", "reference", "updated_at")
    list_filter = ("source",)
    search_fields = ("reference",)
    date_hierarchy = "month"

    def save_model(self, request, obj, form, change):
        # A date an admin enters is labelled as such, unless they keep it marked official.
        if obj.source == Source.ESTIMATED:
            obj.source = Source.ADMIN
        super().save_model(request, obj, form, change)
