from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SchedulingConfig(AppConfig):
    name = "apps.scheduling"
    verbose_name = _("批量清卡")

    def ready(self):
        from . import services  # noqa: F401 (connects its follow-up to pipeline.job_succeeded)
