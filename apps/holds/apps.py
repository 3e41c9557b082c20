from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HoldsConfig(AppConfig):
    name = "apps.holds"
    verbose_name = _("设备暂停")
