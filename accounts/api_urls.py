from django.urls import path

from . import api

urlpatterns = [
    path("auth/signup/", api.SignupView.as_view(), name="auth-signup"),
    path("auth/login/", api.LoginView.as_view(), name="auth-login"),
    path("auth/logout/", api.LogoutView.as_view(), name="auth-logout"),
    path("me/", api.MeView.as_view(), name="me"),
    # Billing calls that answer with the `user` shape (checkout, portal: subscriptions).
    path("billing/cancel/", api.CancelView.as_view(), name="billing-cancel"),
    path("billing/resume/", api.ResumeView.as_view(), name="billing-resume"),
]
