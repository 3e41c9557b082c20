from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PeriodsConfig(AppConfig):
    name = "apps.periods"
    verbose_name = _("申报期")

    def ready(self):
        from . import signals  # noqa: F401
