from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ClientsConfig(AppConfig):
    name = "apps.clients"
    verbose_name = _("客户")

    def ready(self):
        from apps.audit.display import register_choices
        from apps.clients.models import InvoicingMode

        register_choices(mode=InvoicingMode)  # how the audit log reads these codes
