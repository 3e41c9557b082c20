"""API v1: each app brings its own viewsets; this module only puts them under one router."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from apps.clients.api.views import ClientViewSet
from apps.devices.api import agent as agent_api
from apps.devices.api.views import DeviceViewSet
from apps.filing_calendar.api.views import year_calendar
from apps.jobs.api import agent as agent_jobs_api
from apps.jobs.api.views import JobViewSet
from apps.periods.api.views import PeriodViewSet, month_summary

router = DefaultRouter()
router.register("clients", ClientViewSet, basename="client")
router.register("devices", DeviceViewSet, basename="device")
router.register("periods", PeriodViewSet, basename="period")
router.register("jobs", JobViewSet, basename="job")

urlpatterns = [
    path("", include(router.urls)),
    path("calendar/<int:year>/", year_calendar, name="calendar-year"),
    path("months/<str:month>/", month_summary, name="month-summary"),
    path("agent/me/", agent_api.me, name="agent-me"),
    path("agent/heartbeat/", agent_api.heartbeat, name="agent-heartbeat"),
    path("agent/jobs/<int:job_id>/claim/", agent_jobs_api.claim, name="agent-claim"),
    path("agent/jobs/<int:job_id>/result/", agent_jobs_api.result, name="agent-result"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
]
