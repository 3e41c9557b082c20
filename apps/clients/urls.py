from django.urls import path

from . import mode_views, pages, views

app_name = "clients"
urlpatterns = [
    path("", pages.client_list, name="list"),
    path("import/", pages.import_page, name="import"),
    path("import/confirm/", pages.import_confirm, name="import_confirm"),
    path("import/template.<str:fmt>", pages.import_template, name="import_template"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/read-status/", views.read_status, name="read_status"),
    path("<int:pk>/upload-summary/", views.upload_summary, name="upload_summary"),
    path("<int:pk>/clear/", views.clear, name="clear"),
    path("<int:pk>/return/", views.record_return, name="record_return"),
    path("<int:pk>/reconciliation/confirm/", views.confirm_difference, name="confirm_difference"),
    path("<int:pk>/invoicing-mode/", mode_views.set_mode, name="set_mode"),
]
