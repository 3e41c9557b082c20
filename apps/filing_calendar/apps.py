from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FilingCalendarConfig(AppConfig):
    name = "apps.filing_calendar"
    verbose_name = _("征期日历")
