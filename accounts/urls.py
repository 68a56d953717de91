"""Web pages at the contract's paths: /signup/, /login/, /logout/, /account/… —
allauth's other pages (password reset, email, password change) live under /accounts/."""

from allauth.account import views as allauth_views
from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("account/", views.account, name="account"),
    path("account/cancel-trial/", views.cancel_trial, name="cancel-trial"),
    path("account/delete/", views.delete_account, name="delete"),
]

# Same names as allauth's own routes, listed after include("allauth.urls") in config/urls.py,
# so reverse("account_login") etc. give the contract's paths.
entrance_urlpatterns = [
    path("signup/", views.signup, name="account_signup"),
    path("login/", views.login, name="account_login"),
    path("logout/", allauth_views.logout, name="account_logout"),
]
