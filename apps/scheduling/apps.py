from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SchedulingConfig(AppConfig):
    name = "apps.scheduling"
    verbose_name = _("批量清卡")

    def ready(self):
        from apps.filing_calendar import display

        from . import services  # noqa: F401 (connects its follow-up to outcomes.job_succeeded)
        from .calendar import batch_entries

        display.register("batches", batch_entries)  # the calendar's page and feed show them
