from django.urls import path

from . import views

app_name = "reports"
urlpatterns = [path("month-end/", views.month_end, name="month_end")]
