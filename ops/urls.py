from django.urls import path

from . import views

app_name = "ops"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("metrics.csv", views.snapshots_csv, name="snapshots-csv"),
    path("search/", views.search, name="search"),
    path("subscribers/<int:subscription_id>/", views.subscriber, name="subscriber"),
    path(
        "subscribers/<int:subscription_id>/<slug:action>/",
        views.subscriber_action,
        name="action",
    ),
    path("events/", views.events, name="events"),
    path("events/<str:event_id>/replay/", views.event_replay, name="event-replay"),
]
