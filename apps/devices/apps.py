from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DevicesConfig(AppConfig):
    name = "apps.devices"
    verbose_name = _("税控设备与前置机")

    def ready(self):
        from . import schema  # noqa: F401  registers the agent token scheme with drf-spectacular
