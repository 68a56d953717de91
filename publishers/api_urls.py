from django.urls import path

from . import api

app_name = "publisher-api"

urlpatterns = [
    path("publications/", api.PublicationsView.as_view(), name="publications"),
    path("publications/<slug:slug>/rule/", api.RuleView.as_view(), name="rule"),
    path("publications/<slug:slug>/rule/simulate/", api.SimulateView.as_view(), name="simulate"),
    path("publications/<slug:slug>/rule/versions/", api.VersionsView.as_view(), name="versions"),
    path("publications/<slug:slug>/rule/rollback/", api.RollbackView.as_view(), name="rollback"),
    path("articles/<slug:slug>/", api.ArticleAccessView.as_view(), name="article"),
    path("stats/", api.StatsView.as_view(), name="stats"),
]
