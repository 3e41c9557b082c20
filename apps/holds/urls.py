from django.urls import path

from . import views

app_name = "holds"
urlpatterns = [path("<int:pk>/release/", views.release_page, name="release")]
