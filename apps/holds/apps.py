from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HoldsConfig(AppConfig):
    name = "apps.holds"
    verbose_name = _("设备暂停")

    def ready(self):
        from apps.audit.display import register_choices
        from apps.holds.models import HoldReason, Release

        register_choices(reason=HoldReason, release=Release)  # how the audit log reads these codes
