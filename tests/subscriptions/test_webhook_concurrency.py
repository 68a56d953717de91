"""PostgreSQL: the same event POSTed by several deliveries at once is stored and processed
exactly once (the unique Stripe id decides, not a read-then-write)."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, connections
from django.test import Client

from subscriptions.models import AuditEntry, BillingCustomer, StripeEvent
from subscriptions.services.transitions import subscription_for_user
from tests.factories import PlanFactory, UserFactory
from tests.subscriptions.stripe_payloads import WEBHOOK_SECRET, event, post_event, subscription

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_concurrent_duplicate_deliveries_store_and_process_once(settings):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (concurrent writers)")
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_SECRET_KEY = None
    settings.STRIPE_API_BASE = None
    PlanFactory()
    user = UserFactory()
    BillingCustomer.objects.create(user=user, stripe_customer_id="cus_race")
    sub = subscription_for_user(user_id=user.pk)
    now = int(time.time())
    evt = event(
        "customer.subscription.updated",
        subscription(
            id="sub_race",
            customer="cus_race",
            status="active",
            period_start=now,
            period_end=now + 86400 * 30,
        ),
        created=now,
    )
    barrier = threading.Barrier(8)
    codes: list[int] = []

    def deliver() -> None:
        try:
            barrier.wait()
            codes.append(post_event(Client(), evt).status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=deliver) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert codes == [200] * 8
    stored = StripeEvent.objects.get()
    assert (stored.status, stored.attempts) == ("processed", 1)
    assert AuditEntry.objects.filter(subscription=sub, source="stripe").count() == 1
