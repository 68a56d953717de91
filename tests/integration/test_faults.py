"""Faults on the real stack (gunicorn, PostgreSQL, Redis, a Celery worker): the app keeps
giving correct answers, or clear ones, and loses nothing.

- Redis down: pages and the API keep deciding from the database (the meter lives there),
  read events are written straight to it, `/readyz` names Redis.
- PostgreSQL drops every connection (pg_terminate_backend on the test database only, as
  a restart does): the next requests reconnect, no 500.
- The worker down: webhooks are accepted and wait; processed once it is back.
"""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path

import pytest
import redis
from django.conf import settings as django_settings
from django.db import connection

from subscriptions.models import MeterEntry, ReadEvent, StripeEvent
from tests.factories import ArticleFactory, PublicationFactory, UserFactory
from tests.integration.conftest import Browser, free_port, wait_for
from tests.subscriptions.stripe_payloads import WEBHOOK_SECRET, post_event, sign
from tests.subscriptions.test_webhooks import lifecycle

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def clean_app_cache():
    """Served apps share the real Redis: no cached rules from another test's data."""
    client = redis.Redis.from_url(str(django_settings.REDIS_URL))
    for key in client.scan_iter("masthead:*"):
        client.delete(key)
    client.close()


def no_server_errors(log: Path) -> None:
    text = log.read_text()
    assert "Internal Server Error" not in text, text[-3000:]


def test_redis_down_pages_and_api_keep_deciding_from_the_database(serve):
    publication = PublicationFactory()
    metered = ArticleFactory.create_batch(3, publication=publication, access_level="metered")
    premium = ArticleFactory(publication=publication, access_level="premium")
    nobody_listens = f"redis://127.0.0.1:{free_port()}/0"
    base_url = serve(
        REDIS_URL=nobody_listens, METER_FREE_ARTICLES="2", STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET
    )
    reader = Browser(base_url)

    first = reader.get(f"/api/v1/articles/{metered[0].slug}/")
    assert first.status == 200
    assert first.json()["access"]["granted"] is True
    assert first.json()["access"]["meter"]["used"] == 1
    page = reader.get(f"/a/{metered[1].slug}/")
    assert page.status == 200 and b"Second paragraph." in page.body
    walled = reader.get(f"/api/v1/articles/{metered[2].slug}/").json()
    assert (walled["access"]["granted"], walled["access"]["reason"]) == (False, "meter_exhausted")
    assert walled["body_html"] is None
    assert reader.get(f"/api/v1/articles/{premium.slug}/").json()["access"]["granted"] is False
    assert reader.get(f"/a/{metered[2].slug}/").status == 200  # the wall, not an error
    assert MeterEntry.objects.count() == 2
    assert ReadEvent.objects.count() == 5  # written straight to the database, none lost

    credentials = {"email": "new@example.com", "password": "a-long-pass-9"}
    signup = reader.post("/api/v1/auth/signup/", credentials)
    assert signup.status == 201, signup.body
    token = signup.json()["token"]
    me = reader.get("/api/v1/me/", headers={"Authorization": f"Token {token}"})
    assert me.status == 200 and me.json()["subscription"]["status"] == "trialing"
    login = Browser(base_url).post("/api/v1/auth/login/", credentials)
    assert login.status == 200

    # A webhook is stored and answered; its processing waits for the broker (the
    # requeue_stripe_events job enqueues what was left pending).
    event = lifecycle().events[1]
    body = json.dumps(event).encode()
    delivery = urllib.request.Request(
        f"{base_url}/webhooks/stripe/",
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "Stripe-Signature": sign(body)},
    )
    with urllib.request.urlopen(delivery, timeout=30) as answer:
        assert answer.status == 200
    assert StripeEvent.objects.get().status == "pending"

    ready = reader.get("/readyz")
    assert ready.status == 503
    assert ready.json()["checks"]["redis"].startswith("down")
    assert "redis" in ready.json()["detail"]
    no_server_errors(serve.log)


def test_postgresql_dropping_every_connection_costs_no_request(serve, clean_app_cache):
    article = ArticleFactory(access_level="free")
    base_url = serve()
    reader = Browser(base_url)
    paths = [f"/a/{article.slug}/", f"/api/v1/articles/{article.slug}/", "/api/v1/articles/"]
    for _ in range(4):  # both workers hold a connection now
        for path in paths:
            assert reader.get(path).status == 200

    with connection.cursor() as cursor:  # what a restart does to the app's connections
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        (terminated,) = cursor.fetchone()
    assert terminated >= 1

    statuses = [reader.get(path).status for _ in range(4) for path in paths]
    assert statuses == [200] * len(statuses)
    no_server_errors(serve.log)


def test_webhooks_wait_for_the_worker_and_are_processed_when_it_returns(
    client, settings, start_worker, clean_app_cache
):
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_SECRET_KEY = None
    settings.STRIPE_API_BASE = None
    scenario = lifecycle()
    created, activated = scenario.events[1], scenario.events[3]
    for event in (created, activated, activated):
        assert post_event(client, event).status_code == 200
    time.sleep(1)  # no worker: accepted, stored once each, waiting in the broker
    assert sorted(StripeEvent.objects.values_list("status", flat=True)) == ["pending", "pending"]
    assert scenario.sub().status == "trialing"

    start_worker()
    wait_for(lambda: set(StripeEvent.objects.values_list("status", flat=True)) == {"processed"})
    assert scenario.sub().status == "active"
    assert scenario.sub().stripe_subscription_id == scenario.sub_id
    UserFactory()  # the database still takes writes after the worker's
