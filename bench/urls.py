from django.urls import path

from . import views

urlpatterns = [path("bench/page/<slug:slug>/", views.page_from_memory)]
