from django.urls import path

from . import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("live/", views.live, name="dashboard_live"),
    path("record-filed/", views.record_filed, name="dashboard_record_filed"),
]
