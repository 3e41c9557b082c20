from django.urls import path

from . import views

app_name = "notifications"
urlpatterns = [
    path("", views.sends, name="sends"),
    path("channels/", views.channels, name="channels"),
    path("channels/<int:pk>/test/", views.test, name="test"),
    path("channels/<int:pk>/remove/", views.remove, name="remove"),
]
