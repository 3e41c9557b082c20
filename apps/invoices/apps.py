from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InvoicesConfig(AppConfig):
    name = "apps.invoices"
    verbose_name = _("发票查询")

    def ready(self):
        from apps.jobs import keepers
        from apps.jobs.models import JobKind

        from .services import record_invoices

        keepers.register(JobKind.QUERY_INVOICES, record_invoices)
