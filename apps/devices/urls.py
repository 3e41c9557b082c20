from django.urls import path

from . import views

app_name = "devices"
urlpatterns = [
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/power-cycle/", views.power_cycle, name="power_cycle"),
    path("<int:pk>/deregistered/", views.deregistered, name="deregistered"),
]
