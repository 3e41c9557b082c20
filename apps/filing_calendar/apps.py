from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FilingCalendarConfig(AppConfig):
    name = "apps.filing_calendar"
    verbose_name = _("征期日历")

    def ready(self):
        from apps.accounts.tokens import credentials_revoked
        from apps.filing_calendar.services import revoke_feed

        # a password changed or reset revokes the feed's secret link with the user's tokens
        credentials_revoked.connect(lambda sender, user, **kwargs: revoke_feed(user), weak=False)
