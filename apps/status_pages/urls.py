"""The client and device pages keep their URL names (clients:…, devices:…): config/urls.py
includes each list under its own namespace."""

from django.urls import path

from . import client, client_import, client_list, device, invoicing_mode

clients = (
    [
        path("", client_list.client_list, name="list"),
        path("import/", client_import.import_page, name="import"),
        path("import/confirm/", client_import.import_confirm, name="import_confirm"),
        path("import/template.<str:fmt>", client_import.import_template, name="import_template"),
        path("<int:pk>/", client.detail, name="detail"),
        path("<int:pk>/read-status/", client.read_status, name="read_status"),
        path("<int:pk>/upload-summary/", client.upload_summary, name="upload_summary"),
        path("<int:pk>/clear/", client.clear, name="clear"),
        path("<int:pk>/return/", client.record_return, name="record_return"),
        path("<int:pk>/reconciliation/confirm/", client.confirm_difference, name="confirm_difference"),
        path("<int:pk>/invoicing-mode/", invoicing_mode.set_mode, name="set_mode"),
    ],
    "clients",
)
devices = (
    [
        path("<int:pk>/", device.detail, name="detail"),
        path("<int:pk>/power-cycle/", device.power_cycle, name="power_cycle"),
        path("<int:pk>/deregistered/", device.deregistered, name="deregistered"),
    ],
    "devices",
)
