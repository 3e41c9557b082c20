from django.urls import path

from . import views

urlpatterns = [
    path("calendar/", views.month_view, name="calendar"),
    path("calendar/<int:year>/", views.year_view, name="calendar_year"),
    path("calendar/<int:year>/published/", views.enter_published_table, name="calendar_published"),
    path("calendar/deadline/", views.change_deadline, name="calendar_deadline"),
    path("calendar/feed/", views.renew_feed, name="calendar_feed"),
    path("calendar/feed/revoke/", views.revoke_feed, name="calendar_feed_revoke"),
    path("calendar.ics", views.ics_feed, name="calendar_ics"),
]
