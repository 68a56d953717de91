from django.urls import path

from . import api

urlpatterns = [
    path("plans/", api.PlanListView.as_view(), name="plan-list"),
    path("billing/checkout/", api.CheckoutView.as_view(), name="billing-checkout"),
    path("billing/portal/", api.PortalView.as_view(), name="billing-portal"),
    path("billing/cancel/", api.CancelView.as_view(), name="billing-cancel"),
    path("billing/resume/", api.ResumeView.as_view(), name="billing-resume"),
]
