from django.urls import path

from . import views

app_name = "clients"
urlpatterns = [
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/read-status/", views.read_status, name="read_status"),
    path("<int:pk>/upload-summary/", views.upload_summary, name="upload_summary"),
    path("<int:pk>/clear/", views.clear, name="clear"),
    path("<int:pk>/return/", views.record_return, name="record_return"),
]
