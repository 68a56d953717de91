from django.urls import path

from . import views

app_name = "publishers"

urlpatterns = [
    path("", views.portal, name="portal"),
    path("invitations/<str:token>/", views.invitation, name="invitation"),
    path("<slug:publisher>/", views.home, name="home"),
    path("<slug:publisher>/rule/", views.default_rule, name="default_rule"),
    path("<slug:publisher>/rule/history/", views.default_history, name="default_history"),
    path("<slug:publisher>/titles/<slug:title>/rule/", views.title_rule, name="rule"),
    path("<slug:publisher>/titles/<slug:title>/rule/simulate/", views.simulate, name="simulate"),
    path("<slug:publisher>/titles/<slug:title>/rule/history/", views.history, name="history"),
    path("<slug:publisher>/titles/<slug:title>/stats/", views.title_stats, name="title_stats"),
    path("<slug:publisher>/articles/", views.articles, name="articles"),
    path("<slug:publisher>/articles/<slug:slug>/preview/", views.preview, name="preview"),
    path("<slug:publisher>/stats/", views.stats_page, name="stats"),
    path("<slug:publisher>/statements/", views.statements, name="statements"),
    path("<slug:publisher>/statements/<str:month>/", views.statement, name="statement"),
    path("<slug:publisher>/staff/", views.staff_page_view, name="staff"),
]
