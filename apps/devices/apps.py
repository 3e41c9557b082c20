from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DevicesConfig(AppConfig):
    name = "apps.devices"
    verbose_name = _("税控设备与前置机")

    def ready(self):
        from apps.audit.display import register_choices, register_codes
        from apps.devices import health, services  # noqa: F401  services receives invoicing_mode_set
        from apps.devices.errors import ERRORS, error_label
        from apps.devices.models import Health

        health.register()
        # how the audit log reads these codes
        register_choices(health=Health)
        register_codes("error_code", lambda code: error_label(code) if code in ERRORS else None)
