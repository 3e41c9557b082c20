from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AttentionConfig(AppConfig):
    name = "apps.attention"
    verbose_name = _("需要处理")
