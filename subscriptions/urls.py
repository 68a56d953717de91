from django.urls import path

from . import views

app_name = "subscriptions"

urlpatterns = [
    path("billing/success/", views.checkout_success, name="checkout-success"),
    path("billing/cancel/", views.checkout_cancel, name="checkout-cancel"),
    path("billing/checkout/", views.checkout, name="billing-checkout"),
    path("billing/portal/", views.portal, name="billing-portal"),
    path("billing/manage/", views.manage, name="billing-manage"),
]
