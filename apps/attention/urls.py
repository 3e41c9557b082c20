from django.urls import path

from . import views

app_name = "attention"
urlpatterns = [
    path("", views.attention_list, name="list"),
    path("block/", views.attention_block, name="block"),
]
