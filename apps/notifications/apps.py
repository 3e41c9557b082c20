from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "apps.notifications"
    verbose_name = _("通知")

    def ready(self):
        from apps.audit.display import register_codes
        from apps.notifications.labels import event_label

        register_codes("events", event_label)  # how the audit log reads these codes
