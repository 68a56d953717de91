from django.urls import path

from . import api

urlpatterns = [
    path("publications/", api.PublicationListView.as_view(), name="publication-list"),
    path("articles/", api.ArticleListView.as_view(), name="article-list"),
    path("articles/top/", api.TopStoriesView.as_view(), name="article-top"),
    path("articles/picks/", api.PicksView.as_view(), name="article-picks"),
    path("articles/<slug:slug>/", api.ArticleDetailView.as_view(), name="article-detail"),
]
