from django.urls import path

from . import views

app_name = "clients"
urlpatterns = [
    path("", views.client_list, name="list"),
    path("import/", views.import_page, name="import"),
    path("import/confirm/", views.import_confirm, name="import_confirm"),
    path("import/template.<str:fmt>", views.import_template, name="import_template"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/read-status/", views.read_status, name="read_status"),
    path("<int:pk>/upload-summary/", views.upload_summary, name="upload_summary"),
    path("<int:pk>/clear/", views.clear, name="clear"),
    path("<int:pk>/return/", views.record_return, name="record_return"),
]
