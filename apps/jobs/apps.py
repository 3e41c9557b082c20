from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class JobsConfig(AppConfig):
    name = "apps.jobs"
    verbose_name = _("设备任务")

    def ready(self):
        from apps.audit.display import register_choices
        from apps.jobs import health
        from apps.jobs.models import JobKind, JobState, Origin

        health.register()
        # how the audit log reads these codes
        register_choices(state=JobState, kind=JobKind, origin=Origin)
