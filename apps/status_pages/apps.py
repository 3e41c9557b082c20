from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StatusPagesConfig(AppConfig):
    name = "apps.status_pages"
    verbose_name = _("客户与设备")
