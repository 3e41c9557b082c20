from django.urls import path

from . import views

app_name = "sharing"
urlpatterns = [
    path("new/<int:client_pk>/", views.create, name="create"),
    path("<int:pk>/revoke/", views.revoke, name="revoke"),
    path("<str:token>/", views.public, name="public"),
]
