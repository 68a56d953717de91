from django.urls import path

from . import views

urlpatterns = [path("bench/bare/<slug:slug>/", views.bare_article)]
