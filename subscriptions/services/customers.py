"""The reader's Stripe Customer and the Customer Portal it opens."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework import status as http

from config.exceptions import ApplicationError
from config.links import absolute_url

from ..billing.stripe_client import StripeClient, stripe_client
from ..models import BillingCustomer
from ..readers import Reader


def billing_customer_ensure(*, user: Reader, client: StripeClient) -> BillingCustomer:
    """The reader's Stripe Customer, created once (a retry reuses the idempotency key)."""
    existing = BillingCustomer.objects.filter(user_id=user.pk).first()
    if existing is not None:
        return existing
    customer_id = client.customer_create(
        email=user.email, user_id=user.pk, idempotency_key=f"customer:{user.pk}"
    )
    try:
        with transaction.atomic():
            return BillingCustomer.objects.create(user_id=user.pk, stripe_customer_id=customer_id)
    except IntegrityError:
        return BillingCustomer.objects.get(stripe_customer_id=customer_id)


def portal_start(*, user: Reader) -> str:
    """A Customer Portal session for the reader's Stripe Customer; its URL."""
    client = stripe_client()
    customer = BillingCustomer.objects.filter(user_id=user.pk).first()
    if customer is None:
        raise ApplicationError(
            "You have no billing account yet: choose a plan first.",
            code="no_billing_account",
            status_code=http.HTTP_409_CONFLICT,
        )
    return client.portal_session_create(
        customer_id=customer.stripe_customer_id,
        return_url=absolute_url("accounts:account"),
        # A portal session lives a few minutes: the same minute, the same session.
        idempotency_key=f"portal:{user.pk}:{int(timezone.now().timestamp()) // 60}",
    )
