from django.urls import path

from . import api

# billing/cancel/ and billing/resume/ answer with the `user` shape: accounts.api_urls.

urlpatterns = [
    path("plans/", api.PlanListView.as_view(), name="plan-list"),
    path("billing/checkout/", api.CheckoutView.as_view(), name="billing-checkout"),
    path("billing/portal/", api.PortalView.as_view(), name="billing-portal"),
]
