from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import Period


@admin.register(Period)
class PeriodAdmin(admin.ModelAdmin):
    list_display = (
        "client",
        "month",
        "deadline",
        "status_label",
        "summary_uploaded_at",
        "return_filed_on",
        "cleared_at",
    )
    list_filter = ("month", "client__taxpayer_kind", "client__staff")
    search_fields = ("client__name", "client__taxpayer_id")
    date_hierarchy = "month"
    autocomplete_fields = ("client",)
    list_select_related = ("client",)

    @admin.display(description=_("状态"))
    def status_label(self, obj):
        return obj.status().label
