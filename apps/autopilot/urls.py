from django.urls import path

from . import views

app_name = "autopilot"
urlpatterns = [
    path("", views.settings_page, name="settings"),
    path("clients/<int:pk>/exclude/", views.exclude, name="exclude"),
    path("clients/<int:pk>/include/", views.include, name="include"),
]
