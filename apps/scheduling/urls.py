from django.urls import path

from . import views

app_name = "scheduling"
urlpatterns = [
    path("", views.batch_list, name="list"),
    path("new/", views.new, name="new"),
    path("confirm/", views.confirm, name="confirm"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/live/", views.live, name="live"),
    path("<int:pk>/cancel/", views.cancel, name="cancel"),
    path("<int:pk>/retry/", views.retry, name="retry"),
    path("returns/", views.returns_page, name="returns"),
    path("returns/confirm/", views.returns_confirm, name="returns_confirm"),
    path("returns/template.<str:fmt>", views.returns_template, name="returns_template"),
]
