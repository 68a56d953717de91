from django.urls import path

from . import views

app_name = "articles"

urlpatterns = [
    path("", views.home, name="home"),
    path("titles/", views.publications, name="publications"),
    path("t/<slug:slug>/", views.publication, name="publication"),
    path("topic/<slug:slug>/", views.topic, name="topic"),
    path("a/<slug:slug>/", views.article, name="article"),
    path("search/", views.search, name="search"),
]
