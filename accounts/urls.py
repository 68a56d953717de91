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

# allauth's include also mounts its own sign-up and sign-in under /accounts/; listed before
# it, these send those paths to the same views (our limiter, trial and alike answers).
# Unnamed, so reverse() still gives the contract's paths.
allauth_entrance_urlpatterns = [
    path("accounts/signup/", views.signup),
    path("accounts/login/", views.login),
]
