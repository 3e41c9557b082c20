from django.contrib import admin
from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import include, path

from apps.status_pages import urls as status_pages

admin.site.site_header = "清卡 Qingka"
admin.site.site_title = "清卡"
admin.site.index_title = "管理"


def favicon(request):
    """Browsers ask every page's host for /favicon.ico (the admin's pages too); a 404 is a console error."""
    return redirect(static("qingka/favicon.svg"))


urlpatterns = [
    path("", include("apps.dashboard.urls")),
    path("clients/", include(status_pages.clients)),
    path("devices/", include(status_pages.devices)),
    path("", include("apps.filing_calendar.urls")),
    path("charts/", include("apps.charts.urls")),
    path("reports/", include("apps.reports.urls")),
    path("invoices/", include("apps.invoices.urls")),
    path("jobs/", include("apps.jobs.urls")),
    path("audit/", include("apps.audit.urls")),
    path("bulk/", include("apps.scheduling.urls")),
    path("s/", include("apps.sharing.urls")),
    path("attention/", include("apps.attention.urls")),
    path("holds/", include("apps.holds.urls")),
    path("autopilot/", include("apps.autopilot.urls")),
    path("notifications/", include("apps.notifications.urls")),
    path("accounts/", include("apps.accounts.urls")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("config.api")),
    path("django-rq/", include("django_rq.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("favicon.ico", favicon),
]

handler400 = "apps.core.errors.bad_request"
handler403 = "apps.core.errors.permission_denied"
handler404 = "apps.core.errors.page_not_found"
handler500 = "apps.core.errors.server_error"
