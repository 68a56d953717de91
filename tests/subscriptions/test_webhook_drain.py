"""The webhook drain: intake stores the event and wakes one drain; the drain processes
pending events oldest first in batches, once each, also with two drains at once; the
sweep drains what a lost wake left behind."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from celery.exceptions import Retry
from django.core.cache import cache
from django.db import connection, connections, transaction

from subscriptions.models import BillingCustomer, StripeEvent, Subscription
from subscriptions.services import jobs
from subscriptions.services.stripe_events import (
    CLAIM,
    WAKE_KEY,
    WAKE_SECONDS,
    stripe_event_store,
    stripe_events_drain,
    stripe_events_requeue,
)
from subscriptions.tasks import drain_stripe_events
from tests.factories import PlanFactory, UserFactory
from tests.integration.conftest import free_port
from tests.subscriptions.stripe_payloads import event, subscription
from tests.subscriptions.test_webhooks import (  # the webhook's settings, for every test here
    _stripe_settings,  # noqa: F401
    lifecycle,
)

DAY = 86400


def linked_events(count: int) -> list[dict[str, Any]]:
    """`count` readers, each linked to a Stripe customer, and one activation event each."""
    PlanFactory()
    now = int(time.time())
    events = []
    for i in range(count):
        user = UserFactory()
        BillingCustomer.objects.create(user=user, stripe_customer_id=f"cus_drain{user.pk}")
        stripe_sub = subscription(
            id=f"sub_drain{user.pk}",
            customer=f"cus_drain{user.pk}",
            status="active",
            period_start=now,
            period_end=now + 30 * DAY,
            user_id=user.pk,
        )
        events.append(event("customer.subscription.updated", stripe_sub, created=now + i))
    return events


def statuses() -> list[tuple[str, int]]:
    return list(StripeEvent.objects.order_by("pk").values_list("status", "attempts"))


@pytest.mark.django_db
def test_drain_processes_pending_events_oldest_first_in_batches(django_assert_max_num_queries):
    s = lifecycle()
    for evt in reversed(s.events):  # stored newest first: ids run against `created`
        assert stripe_event_store(event=evt) is not None

    result = stripe_events_drain(batch_size=3)

    assert (result.processed, result.temporary) == (len(s.events), [])
    assert statuses() == [("processed", 1)] * len(s.events)
    by_processing = StripeEvent.objects.order_by("processed_at", "pk")
    assert [e.stripe_id for e in by_processing] == [e["id"] for e in s.events]
    assert s.sub().status == "canceled"  # as if delivered in order
    # Nothing left: claim, disarm, claim again; a claim is one SELECT in its own
    # transaction (here a savepoint and its release).
    with django_assert_max_num_queries(6):
        assert stripe_events_drain().processed == 0


@pytest.mark.django_db
def test_intake_wakes_one_drain_while_one_is_armed(deliver):
    first, second, third = linked_events(3)
    assert cache.add(WAKE_KEY, 1, timeout=WAKE_SECONDS)  # a drain is published, not run yet

    for response in deliver(first, second):
        assert response.status_code == 200
    assert statuses() == [("pending", 0), ("pending", 0)]  # no second drain was published

    assert drain_stripe_events.apply().get() == 2  # the armed drain runs: both, then disarms
    assert statuses() == [("processed", 1), ("processed", 1)]
    assert cache.get(WAKE_KEY) is None

    (response,) = deliver(third)  # nothing armed: this intake wakes a drain
    assert response.status_code == 200
    assert statuses() == [("processed", 1)] * 3
    assert Subscription.objects.filter(status="active").count() == 3


@pytest.mark.django_db
def test_a_wake_whose_drain_never_ran_lapses(deliver):
    (evt,) = linked_events(1)
    assert cache.add(WAKE_KEY, 1, timeout=WAKE_SECONDS)  # its drain's message was lost
    with time_machine.travel(datetime.now(tz=UTC) + timedelta(seconds=WAKE_SECONDS + 1)):
        (response,) = deliver(evt)
    assert response.status_code == 200
    assert statuses() == [("processed", 1)]


@pytest.mark.django_db
def test_cache_down_at_intake_still_stores_and_answers_200_then_the_sweep_drains(
    deliver, settings, django_capture_on_commit_callbacks
):
    (evt,) = linked_events(1)
    locmem = settings.CACHES
    settings.CACHES = {  # Redis down: nothing listens there
        "default": {
            "BACKEND": "config.cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 1, "IGNORE_EXCEPTIONS": True},
        }
    }
    first, duplicate = deliver(evt, evt)
    assert (first.status_code, first.json()) == (200, {"received": True})
    assert (duplicate.status_code, duplicate.json()["duplicate"]) == (200, True)
    assert statuses() == [("pending", 0)]  # stored once, durable, waiting

    settings.CACHES = locmem
    assert stripe_events_requeue() == 0  # just arrived: its wake may still come
    later = datetime.now(tz=UTC) + timedelta(minutes=3)
    with time_machine.travel(later), django_capture_on_commit_callbacks(execute=True):
        result = jobs.run("requeue_stripe_events")  # the beat-scheduled sweep
    assert result.processed == 1
    assert statuses() == [("processed", 1)]
    assert Subscription.objects.get(stripe_subscription_id=evt["data"]["object"]["id"]).status == (
        "active"
    )


@pytest.mark.django_db
def test_a_killed_drains_claim_holds_off_others_until_it_lapses():
    (evt,) = linked_events(1)
    stored = stripe_event_store(event=evt)
    assert stored is not None
    claimed_at = datetime.now(tz=UTC)
    StripeEvent.objects.filter(pk=stored.pk).update(claimed_until=claimed_at + CLAIM)

    assert stripe_events_drain().processed == 0  # a live claim: another drain's
    with time_machine.travel(claimed_at + CLAIM - timedelta(seconds=5)):
        assert stripe_events_requeue() == 0
    with time_machine.travel(claimed_at + CLAIM + timedelta(seconds=1)):
        assert stripe_events_requeue() == 1
        assert stripe_events_drain().processed == 1
    assert statuses() == [("processed", 1)]
    assert StripeEvent.objects.get().claimed_until is None


@pytest.mark.django_db
def test_temporary_failure_in_a_drain_is_retried_with_backoff(settings):
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens: connection refused
    settings.STRIPE_SECRET_KEY = "sk_test_x"
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    s = lifecycle()
    for evt in s.events[1:3]:
        stripe_event_store(event=evt)

    with pytest.raises(Retry) as retry:
        drain_stripe_events.apply()
    assert retry.value.when is not None  # a countdown, not at once
    pks = list(StripeEvent.objects.order_by("created").values_list("pk", flat=True))
    # the retry carries the failed ones (celery-types does not declare Retry.sig)
    assert retry.value.sig.kwargs == {"event_pks": pks}  # type: ignore[attr-defined]
    assert statuses() == [("failed", 1), ("failed", 1)]
    assert stripe_events_drain().processed == 0  # failed events are not pending

    settings.STRIPE_API_BASE = None  # Stripe is back (here: the payload is applied)
    settings.STRIPE_SECRET_KEY = None
    assert drain_stripe_events.apply(kwargs={"event_pks": pks}).get() == 2
    assert statuses() == [("processed", 2), ("processed", 2)]
    assert s.sub().stripe_subscription_id == s.sub_id


# --- two drains at once (PostgreSQL: row locks) ---------------------------------------
def needs_postgresql() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (row locks, SKIP LOCKED)")


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_drain_skips_events_another_drain_is_claiming():
    needs_postgresql()
    events = linked_events(6)
    for evt in events:
        stripe_event_store(event=evt)
    held = list(StripeEvent.objects.order_by("created").values_list("pk", flat=True)[:2])
    locked, release = threading.Event(), threading.Event()

    def other_drain_claiming() -> None:
        try:
            with transaction.atomic():
                list(StripeEvent.objects.select_for_update().filter(pk__in=held))
                locked.set()
                release.wait(30)
        finally:
            connections.close_all()

    other = threading.Thread(target=other_drain_claiming)
    other.start()
    try:
        assert locked.wait(30)
        started = time.monotonic()
        assert stripe_events_drain(batch_size=2).processed == 4  # the rest, without waiting
        assert time.monotonic() - started < 20
    finally:
        release.set()
        other.join()
    assert stripe_events_drain().processed == 2
    assert statuses() == [("processed", 1)] * 6


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_two_drains_at_once_process_every_event_exactly_once():
    needs_postgresql()
    events = linked_events(40)
    for evt in events:
        stripe_event_store(event=evt)
    barrier = threading.Barrier(2)
    processed: list[int] = []

    def drain() -> None:
        try:
            barrier.wait()
            processed.append(stripe_events_drain(batch_size=3).processed)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=drain) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(processed) == 40
    assert statuses() == [("processed", 1)] * 40  # attempts counts every run
    assert Subscription.objects.filter(status="active").count() == 40


@pytest.mark.django_db
def test_a_drain_stopped_at_its_limit_hands_on_to_a_fresh_one(
    django_capture_on_commit_callbacks,
):
    def sends(callbacks: list[Any]) -> int:
        return sum(c.__qualname__ == "after_commit.<locals>.send" for c in callbacks)

    for evt in linked_events(5):
        stripe_event_store(event=evt)

    with django_capture_on_commit_callbacks() as hand_on:
        assert stripe_events_drain(max_events=2).processed == 2
    assert [status for status, _ in statuses()].count("processed") == 2
    assert sends(hand_on) == 1
    with django_capture_on_commit_callbacks() as again:
        assert stripe_events_drain(max_seconds=0).processed == 0  # out of time at once
    assert sends(again) == 1

    for callback in hand_on:  # the fresh drain among them (eager here)
        callback()
    assert statuses() == [("processed", 1)] * 5
