from django.urls import path

from . import views

app_name = "invoices"
urlpatterns = [
    path("", views.lookup, name="lookup"),
    path("sync/", views.sync, name="sync"),
    path("sync/progress/", views.sync_progress, name="progress"),
]
