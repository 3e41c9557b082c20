from django.urls import path

from . import views

urlpatterns = [
    path("calendar/", views.month_view, name="calendar"),
    path("calendar/deadline/", views.change_deadline, name="calendar_deadline"),
    path("calendar/feed/", views.renew_feed, name="calendar_feed"),
    path("calendar/feed/revoke/", views.revoke_feed, name="calendar_feed_revoke"),
    path("calendar.ics", views.ics_feed, name="calendar_ics"),
]
