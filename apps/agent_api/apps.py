from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AgentApiConfig(AppConfig):
    name = "apps.agent_api"
    verbose_name = _("前置机接口")

    def ready(self):
        from . import schema  # noqa: F401  registers the agent token scheme with drf-spectacular
