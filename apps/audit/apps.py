from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    name = "apps.audit"
    verbose_name = _("操作日志")

    def ready(self):
        from .trail import audit_every_admin

        audit_every_admin()
