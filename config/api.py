"""API v1: each app brings its own viewsets; this module only puts them under one router."""

from django.contrib.auth.decorators import login_required
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from apps.clients.api.views import ClientViewSet
from apps.devices.api.views import DeviceViewSet
from apps.filing_calendar.api.views import year_calendar
from apps.invoices.api import views as invoices_api
from apps.jobs.api.views import JobViewSet
from apps.notifications.api.views import ChannelViewSet
from apps.periods.api.views import PeriodViewSet, month_summary
from apps.reports.api.views import month_end
from apps.status_pages import api as import_api

router = DefaultRouter()
router.register("clients", ClientViewSet, basename="client")
router.register("devices", DeviceViewSet, basename="device")
router.register("periods", PeriodViewSet, basename="period")
router.register("jobs", JobViewSet, basename="job")
router.register("notification-channels", ChannelViewSet, basename="notification-channel")

urlpatterns = [
    # Before the router's, whose clients/<pk>/ would take "import" for a client's id.
    path("clients/import/", import_api.import_file, name="client-import-file"),
    path("clients/import/template/", import_api.import_template, name="client-import-template"),
    path("", include(router.urls)),
    path("calendar/<int:year>/", year_calendar, name="calendar-year"),
    path("months/<str:month>/", month_summary, name="month-summary"),
    path("reports/month-end/", month_end, name="report-month-end"),
    path("invoices/", invoices_api.invoices, name="invoices"),
    path("invoices/sync/", invoices_api.sync, name="invoices-sync"),
    path("agent/", include("apps.agent_api.urls")),
    # Behind login (SPECTACULAR_SETTINGS["SERVE_PERMISSIONS"]); the docs page loads its script from
    # a URL of its own, so the Content-Security-Policy needs no inline script.
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", login_required(SpectacularSwaggerSplitView.as_view(url_name="schema")), name="swagger-ui"),
]
