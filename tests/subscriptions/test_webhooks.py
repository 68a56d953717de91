"""Stripe webhooks with signed payloads in today's shape: intake, every handler,
duplicates, stale and out-of-order delivery, replay."""

from __future__ import annotations

import itertools
import json
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from celery.exceptions import Retry
from django.core import mail

from subscriptions.models import (
    AuditEntry,
    BillingCustomer,
    Payment,
    StripeEvent,
    Subscription,
)
from subscriptions.selectors import entitlement_of
from subscriptions.services.stripe_events import stripe_event_replay
from subscriptions.services.transitions import subscription_for_user, transition
from subscriptions.tasks import process_stripe_event
from subscriptions.vocabulary import AuditSource
from tests.factories import PlanFactory, UserFactory
from tests.subscriptions.stripe_payloads import (
    WEBHOOK_SECRET,
    checkout_session,
    event,
    invoice,
    post_event,
    sign,
    subscription,
)

pytestmark = pytest.mark.django_db
DAY = 86400


@pytest.fixture(autouse=True)
def _stripe_settings(settings):
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_SECRET_KEY = None
    settings.STRIPE_API_BASE = None
    settings.GRACE_PERIOD_DAYS = 7


@dataclass
class Scenario:
    user: Any
    customer: str
    sub_id: str
    trial_end: int
    events: list[dict[str, Any]]

    def sub(self) -> Subscription:
        return Subscription.objects.get(user=self.user)

    def state(self) -> dict[str, Any]:
        """What a reader's row says, with this scenario's ids replaced."""
        sub = self.sub()
        return {
            "status": sub.status,
            "plan": sub.plan.code if sub.plan else None,
            "trial_ends_at": sub.trial_ends_at,
            "current_period_end": sub.current_period_end,
            "cancel_at_period_end": sub.cancel_at_period_end,
            "past_due_since": sub.past_due_since,
            "linked": sub.stripe_subscription_id == self.sub_id,
        }


NAMES = [
    "checkout",
    "created_trialing",
    "trial_will_end",
    "updated_active",
    "invoice_paid",
    "payment_failed",
    "updated_past_due",
    "invoice_paid_recovery",
    "updated_recovered",
    "updated_cancel_at_period_end",
    "deleted",
]


def lifecycle(*, now: int | None = None) -> Scenario:
    """A reader in a local trial converts, renews, fails, recovers, cancels: the events
    Stripe would send, with increasing `created`."""
    PlanFactory()
    user: Any = UserFactory()
    customer, sub_id = f"cus_u{user.pk}", f"sub_u{user.pk}"
    BillingCustomer.objects.create(user=user, stripe_customer_id=customer)
    now = now or int(time.time())
    base = now - 3600
    trial_end = now + 10 * DAY
    local = subscription_for_user(user_id=user.pk)
    transition(
        subscription_id=local.pk,
        to="trialing",
        source=AuditSource.TRIAL,
        trial_started_at=datetime.fromtimestamp(now - 4 * DAY, tz=UTC),
        trial_ends_at=datetime.fromtimestamp(trial_end, tz=UTC),
    )
    p1 = (now - DAY, trial_end)
    p2 = (trial_end, trial_end + 30 * DAY)
    p3 = (p2[1], p2[1] + 30 * DAY)
    t = itertools.count(base, 10)

    def sub(status: str, period: tuple[int, int], **kw: Any) -> dict[str, Any]:
        return subscription(
            id=sub_id,
            customer=customer,
            status=status,
            period_start=period[0],
            period_end=period[1],
            trial_end=trial_end,
            user_id=user.pk,
            **kw,
        )

    def inv(status: str, period: tuple[int, int], **kw: Any) -> dict[str, Any]:
        return invoice(
            subscription=sub_id,
            customer=customer,
            status=status,
            period_start=period[0],
            period_end=period[1],
            **kw,
        )

    renewal = f"in_renewal_u{user.pk}"
    session = checkout_session(
        customer=customer, subscription=sub_id, client_reference_id=str(user.pk)
    )
    events = [
        event("checkout.session.completed", session, created=next(t)),
        event("customer.subscription.created", sub("trialing", p1), created=next(t)),
        event("customer.subscription.trial_will_end", sub("trialing", p1), created=next(t)),
        event(
            "customer.subscription.updated",
            sub("active", p2),
            created=next(t),
            previous_attributes={"status": "trialing"},
        ),
        event("invoice.paid", inv("paid", p2), created=next(t)),
        event("invoice.payment_failed", inv("open", p3, id=renewal), created=next(t)),
        event(
            "customer.subscription.updated",
            sub("past_due", p3),
            created=next(t),
            previous_attributes={"status": "active"},
        ),
        event("invoice.paid", inv("paid", p3, id=renewal, attempt_count=2), created=next(t)),
        event(
            "customer.subscription.updated",
            sub("active", p3),
            created=next(t),
            previous_attributes={"status": "past_due"},
        ),
        event(
            "customer.subscription.updated",
            sub("active", p3, cancel_at_period_end=True),
            created=next(t),
            previous_attributes={"cancel_at_period_end": False},
        ),
        event(
            "customer.subscription.deleted",
            sub("canceled", p3, cancel_at_period_end=True),
            created=next(t),
        ),
    ]
    assert len(events) == len(NAMES)
    return Scenario(user=user, customer=customer, sub_id=sub_id, trial_end=trial_end, events=events)


def at(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


# --- intake ------------------------------------------------------------------------------
def _body(evt: dict[str, Any]) -> bytes:
    return json.dumps(evt).encode()


def test_valid_event_is_stored_once_and_processed(deliver):
    s = lifecycle()
    first, second = deliver(s.events[1], s.events[1])
    assert first.status_code == 200
    assert second.status_code == 200
    assert second.json()["duplicate"] is True
    stored = StripeEvent.objects.get()
    assert (stored.stripe_id, stored.status, stored.attempts) == (
        s.events[1]["id"],
        "processed",
        1,
    )
    assert stored.created == at(s.events[1]["created"])
    assert AuditEntry.objects.filter(subscription=s.sub(), source="stripe").count() == 1


def test_missing_signature_is_400(client):
    response = client.post("/webhooks/stripe/", data=b"{}", content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {
        "detail": "Missing Stripe-Signature header.",
        "code": "signature_missing",
    }
    assert not StripeEvent.objects.exists()


@pytest.mark.parametrize(
    "tamper",
    ["wrong_secret", "changed_body", "reserialized", "too_old", "garbage_header"],
)
def test_bad_signature_is_400(client, tamper):
    s = lifecycle()
    body = _body(s.events[1])
    header = sign(body)
    if tamper == "wrong_secret":
        header = sign(body, secret="whsec_someone_else")
    elif tamper == "changed_body":
        body = body.replace(b'"trialing"', b'"active"', 1)
    elif tamper == "reserialized":
        body = json.dumps(s.events[1], indent=2).encode()
    elif tamper == "too_old":
        header = sign(body, timestamp=int(time.time()) - 301)
    elif tamper == "garbage_header":
        header = "t=abc,v1=nothex"
    response = client.post(
        "/webhooks/stripe/",
        data=body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=header,
    )
    assert response.status_code == 400
    assert response.json()["code"] == "signature_invalid"
    assert not StripeEvent.objects.exists()


@pytest.mark.parametrize(
    ("body", "code"),
    [
        # Signed, so verified, but not an event: the sender learns it is the payload.
        (b"not json at all", "payload_invalid"),
        (b"[]", "payload_invalid"),
        (b'{"id": "evt_1"}', "payload_invalid"),
        (
            b'{"id": "evt_1", "type": "invoice.paid", "created": "yesterday", "data": {}}',
            "payload_invalid",
        ),
        (
            b'{"id": "evt_1", "type": "invoice.paid", "created": 1, "data": {"object": 3}}',
            "payload_invalid",
        ),
        # Not UTF-8: the signature cannot even be checked.
        (b"\xff\xfe\x00garbage", "signature_invalid"),
    ],
)
def test_signed_garbage_is_400(client, body, code):
    header = stripe_header_for(body)
    response = client.post(
        "/webhooks/stripe/",
        data=body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=header,
    )
    assert response.status_code == 400
    assert response.json()["code"] == code
    assert not StripeEvent.objects.exists()


def _post_signed(client, body: bytes):
    return client.post(
        "/webhooks/stripe/",
        data=body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign(body),
    )


@pytest.mark.parametrize("created", [10**20, -(10**15), 2**63, -1, True, 1.5])
def test_signed_event_with_an_impossible_created_is_400_and_not_stored(client, created):
    """`created` = 10**20 raised OverflowError, -10**15 ValueError: a 500 before."""
    s = lifecycle()
    response = _post_signed(client, _body({**s.events[1], "created": created}))
    assert response.status_code == 400
    assert response.json() == {
        "detail": "Not a Stripe event: `created` is not a timestamp.",
        "code": "payload_invalid",
    }
    assert not StripeEvent.objects.exists()


def _storable_probe(field: str, value: str) -> bytes:
    """A real event with `value` put in as JSON text: at the id, the type or deep inside."""
    s = lifecycle()
    evt = {**s.events[1], "id": "evt_probe_id", "type": "invoice.paid"}
    evt["data"] = {"object": {**evt["data"]["object"], "metadata": {"note": "probe_note"}}}
    marker = {"id": "evt_probe_id", "type": "invoice.paid", "note": "probe_note"}[field]
    return _body(evt).replace(json.dumps(marker).encode(), value.encode(), 1)


@pytest.mark.parametrize(
    ("field", "value", "detail"),
    [
        # 101 characters: PostgreSQL refused the insert (value too long), a 500 that
        # Stripe would have retried forever; SQLite stored it. Both now refuse it.
        ("id", json.dumps("evt_" + "x" * 97), "`id` is longer than 100 characters"),
        ("type", json.dumps("invoice." + "x" * 93), "`type` is longer than 100 characters"),
        ("id", '""', "`id` and `type` are required"),
        ("type", '""', "`id` and `type` are required"),
        ("id", "7", "`id` and `type` are required"),
        ("type", "null", "`id` and `type` are required"),
        # Text PostgreSQL cannot store (a 500 there): NUL and an unpaired surrogate, in a
        # value, in a key, in the id (the id's surrogate was a 500 on SQLite too).
        ("note", r'"a\u0000b"', "a NUL character or an unpaired surrogate"),
        ("note", r'{"k\u0000": 1}', "a NUL character or an unpaired surrogate"),
        ("id", r'"evt_\u0000"', "a NUL character or an unpaired surrogate"),
        ("note", r'"\ud800"', "a NUL character or an unpaired surrogate"),
        ("note", r'"\uDFFF x"', "a NUL character or an unpaired surrogate"),
        ("id", r'"\udfff"', "a NUL character or an unpaired surrogate"),
        # Not JSON, though Python's parser takes it (SQLite's JSON check and jsonb refused).
        ("note", "NaN", "Not a Stripe event"),
        ("note", "-Infinity", "Not a Stripe event"),
    ],
)
def test_signed_event_the_database_cannot_store_is_400_and_not_stored(client, field, value, detail):
    response = _post_signed(client, _storable_probe(field, value))
    assert response.status_code == 400
    assert response.json()["code"] == "payload_invalid"
    assert detail in response.json()["detail"]
    assert not StripeEvent.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("id", json.dumps("evt_" + "x" * 96)),  # exactly 100: the column's width
        ("note", r'"\ud83d\ude00 \\u0000"'),  # a surrogate pair, an escaped backslash
        ("note", r'"caf\u00e9 \u2028"'),
    ],
)
def test_signed_event_at_the_edges_of_storable_is_stored(client, field, value):
    response = _post_signed(client, _storable_probe(field, value))
    assert (response.status_code, response.json()) == (200, {"received": True})
    assert StripeEvent.objects.count() == 1


@pytest.mark.parametrize("depth", [5000, 100])
def test_signed_deeply_nested_event_is_400_and_not_stored(client, depth):
    """5,000 levels raised RecursionError in json.loads: a 500 before. 100 levels parse,
    but are deeper than any Stripe event and than the database should be asked to store."""
    s = lifecycle()
    evt = {**s.events[1], "data": {"object": {**s.events[1]["data"]["object"], "metadata": 0}}}
    body = _body(evt).replace(b'"metadata": 0', b'"metadata": ' + b"[" * depth + b"]" * depth, 1)
    response = _post_signed(client, body)
    assert response.status_code == 400
    assert response.json()["code"] == "payload_invalid"
    assert "nested" in response.json()["detail"]
    assert not StripeEvent.objects.exists()


@pytest.mark.parametrize("period_end", [10**20, -(10**15)])
def test_signed_event_the_handler_cannot_use_is_stored_as_failed_with_its_error(
    deliver, period_end
):
    s = lifecycle()
    evt = s.events[3]  # customer.subscription.updated -> active
    item = evt["data"]["object"]["items"]["data"][0]
    item["current_period_end"] = period_end
    (response,) = deliver(evt)
    assert response.status_code == 200
    stored = StripeEvent.objects.get()
    assert stored.status == "failed"
    assert stored.error and stored.attempts == 1
    assert s.sub().status == "trialing"  # nothing applied


def stripe_header_for(body: bytes) -> str:
    import hashlib
    import hmac

    ts = int(time.time())
    mac = hmac.new(WEBHOOK_SECRET.encode(), f"{ts}.".encode() + body, hashlib.sha256)
    return f"t={ts},v1={mac.hexdigest()}"


def test_rotated_secret_with_several_signatures_verifies(
    client, django_capture_on_commit_callbacks
):
    s = lifecycle()
    body = _body(s.events[1])
    old = sign(body, secret="whsec_old").split(",v1=")[1]
    header = sign(body) + f",v1={old}"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/webhooks/stripe/",
            data=body,
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=header,
        )
    assert response.status_code == 200


def test_webhook_without_secret_is_503(client, settings):
    settings.STRIPE_WEBHOOK_SECRET = None
    s = lifecycle()
    response = post_event(client, s.events[1])
    assert response.status_code == 503
    assert response.json() == {
        "detail": "billing is not configured",
        "code": "billing_not_configured",
    }


@pytest.mark.parametrize("method", ["get", "put", "delete", "options"])
def test_only_post(client, method):
    response = getattr(client, method)("/webhooks/stripe/")
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert response.json() == {"detail": "Method not allowed.", "code": "method_not_allowed"}


def test_unknown_type_is_stored_and_ignored(deliver):
    evt = event("customer.tax_id.created", {"id": "txi_1", "object": "tax_id"}, created=1)
    (response,) = deliver(evt)
    assert response.status_code == 200
    stored = StripeEvent.objects.get()
    assert (stored.type, stored.status, stored.attempts) == (
        "customer.tax_id.created",
        "ignored",
        0,
    )


# --- each handler, in order --------------------------------------------------------------
def test_lifecycle_in_order(deliver):
    s = lifecycle()
    e = dict(zip(NAMES, s.events, strict=True))
    trial_end = at(s.trial_end)

    deliver(e["checkout"])
    sub = s.sub()
    assert (sub.status, sub.stripe_subscription_id) == ("trialing", s.sub_id)

    deliver(e["created_trialing"])
    sub = s.sub()
    assert sub.plan is not None
    assert (sub.status, sub.plan.code, sub.trial_ends_at) == ("trialing", "monthly", trial_end)
    assert sub.current_period_end == trial_end

    deliver(e["trial_will_end"])
    assert len(mail.outbox) == 1
    assert "trial ends soon" in mail.outbox[0].subject
    assert mail.outbox[0].to == [s.user.email]

    deliver(e["updated_active"])
    sub = s.sub()
    assert sub.status == "active"
    assert sub.current_period_end == trial_end + timedelta(days=30)

    deliver(e["invoice_paid"])
    deliver(e["invoice_paid"])  # a duplicate delivery records the money once
    assert s.sub().status == "active"
    payment = Payment.objects.get()
    assert (payment.amount, payment.currency, payment.user_id) == (999, "gbp", s.user.pk)

    deliver(e["payment_failed"])
    sub = s.sub()
    assert sub.status == "past_due"
    assert sub.past_due_since == at(e["payment_failed"]["created"])
    assert entitlement_of(sub).entitled
    assert len(mail.outbox) == 2
    assert "/billing/manage/" in mail.outbox[1].body
    assert "7 days" in mail.outbox[1].body

    deliver(e["updated_past_due"])
    sub = s.sub()
    assert sub.status == "past_due"
    assert sub.past_due_since == at(e["payment_failed"]["created"])  # set once

    deliver(e["invoice_paid_recovery"])
    sub = s.sub()
    assert (sub.status, sub.past_due_since) == ("active", None)
    assert sub.current_period_end == trial_end + timedelta(days=60)

    deliver(e["updated_recovered"])
    deliver(e["updated_cancel_at_period_end"])
    sub = s.sub()
    assert (sub.status, sub.cancel_at_period_end) == ("active", True)
    assert entitlement_of(sub).entitled

    deliver(e["deleted"])
    sub = s.sub()
    assert sub.status == "canceled"
    assert not entitlement_of(sub).entitled
    assert StripeEvent.objects.filter(status="processed").count() == len(NAMES)
    assert len(mail.outbox) == 2
    assert Payment.objects.count() == 2  # the first renewal and the recovered one


def test_payment_action_required_emails_a_link_once(deliver):
    s = lifecycle()
    deliver(*s.events[:2])
    inv = invoice(
        subscription=s.sub_id,
        customer=s.customer,
        status="open",
        period_start=s.trial_end,
        period_end=s.trial_end + 30 * DAY,
    )
    first = event("invoice.payment_action_required", inv, created=int(time.time()))
    again = event("invoice.payment_action_required", inv, created=int(time.time()) + 1)
    deliver(first, again)
    assert [m.subject for m in mail.outbox] == ["Masthead: please confirm your payment"]
    assert "/billing/manage/" in mail.outbox[0].body
    assert s.sub().status == "trialing"


def test_grace_period_then_access_ends(deliver):
    s = lifecycle()
    e = dict(zip(NAMES, s.events, strict=True))
    deliver(*s.events[:4], e["payment_failed"])
    failed_at = at(e["payment_failed"]["created"])
    with time_machine.travel(failed_at + timedelta(days=6), tick=False):
        assert entitlement_of(s.sub()).entitled
    with time_machine.travel(failed_at + timedelta(days=7, seconds=1), tick=False):
        assert not entitlement_of(s.sub()).entitled


def test_final_failure_unpaid_keeps_past_due_then_canceled_ends_access(deliver):
    s = lifecycle()
    e = dict(zip(NAMES, s.events, strict=True))
    deliver(*s.events[:4], e["payment_failed"])
    unpaid = dict(e["updated_past_due"])
    unpaid = event(
        "customer.subscription.updated",
        {**e["updated_past_due"]["data"]["object"], "status": "unpaid"},
        created=e["updated_past_due"]["created"],
    )
    deliver(unpaid)
    assert s.sub().status == "past_due"
    deliver(e["deleted"])
    assert s.sub().status == "canceled"
    assert not entitlement_of(s.sub()).entitled


# --- stale and out-of-order ----------------------------------------------------------------
def test_stale_event_never_rolls_back(deliver):
    s = lifecycle()
    e = dict(zip(NAMES, s.events, strict=True))
    deliver(e["checkout"], e["deleted"])
    assert s.sub().status == "canceled"
    deliver(e["updated_active"], e["invoice_paid"], e["created_trialing"])
    assert s.sub().status == "canceled"
    assert StripeEvent.objects.filter(status="processed").count() == 5


PAIRS = [(i, j) for i in range(len(NAMES)) for j in range(i + 1, len(NAMES))]


@pytest.mark.parametrize(("i", "j"), PAIRS, ids=[f"{NAMES[j]}-before-{NAMES[i]}" for i, j in PAIRS])
def test_every_pair_out_of_order_converges(deliver, i, j):
    now = int(time.time())
    in_order, swapped = lifecycle(now=now), lifecycle(now=now)
    deliver(*in_order.events[:i], in_order.events[i], in_order.events[j])
    deliver(*swapped.events[:i], swapped.events[j], swapped.events[i])
    assert swapped.state() == in_order.state()
    assert not StripeEvent.objects.filter(status="failed").exists()


@pytest.mark.parametrize("seed", range(5))
def test_replaying_shuffled_twice_ends_as_in_order(deliver, seed):
    now = int(time.time())
    in_order, shuffled = lifecycle(now=now), lifecycle(now=now)
    deliver(*in_order.events)
    rng = random.Random(seed)
    twice = shuffled.events + shuffled.events
    rng.shuffle(twice)
    deliver(*twice)
    assert shuffled.state() == in_order.state()
    assert shuffled.state()["status"] == "canceled"


def test_replaying_a_prefix_shuffled_ends_in_past_due(deliver):
    now = int(time.time())
    in_order, shuffled = lifecycle(now=now), lifecycle(now=now)
    deliver(*in_order.events[:7])
    twice = shuffled.events[:7] * 2
    random.Random(7).shuffle(twice)
    deliver(*twice)
    assert shuffled.state() == in_order.state()
    assert in_order.state()["status"] == "past_due"


# --- failures and replay -------------------------------------------------------------------
def test_unlinkable_event_fails_with_its_error_and_replays(deliver):
    user = UserFactory()
    PlanFactory()
    now = int(time.time())
    stray = subscription(
        id="sub_stray",
        customer="cus_unknown",
        status="active",
        period_start=now,
        period_end=now + 30 * DAY,
    )
    evt = event("customer.subscription.updated", stray, created=now)
    (response,) = deliver(evt)
    assert response.status_code == 200
    stored = StripeEvent.objects.get()
    assert stored.status == "failed"
    assert "SubscriptionNotLinked" in stored.error
    assert stored.attempts == 1

    BillingCustomer.objects.create(user=user, stripe_customer_id="cus_unknown")
    replayed = stripe_event_replay(event_id=evt["id"])
    assert (replayed.status, replayed.error, replayed.attempts) == ("processed", "", 2)
    sub = Subscription.objects.get(user=user)
    assert (sub.status, sub.stripe_subscription_id) == ("active", "sub_stray")


@pytest.mark.parametrize("reference", ["\u00b2", "1\u00b2", "\u2460"])
def test_a_checkout_naming_no_reader_by_a_digit_int_refuses_fails_as_unlinked(deliver, reference):
    """A `client_reference_id` like "²" passed str.isdigit(), then int() raised
    ValueError: the event failed with a crash, not with what is wrong."""
    UserFactory()
    now = int(time.time())
    session = checkout_session(
        customer="cus_x", subscription="sub_x", client_reference_id=reference
    )
    (response,) = deliver(event("checkout.session.completed", session, created=now))
    assert response.status_code == 200
    stored = StripeEvent.objects.get()
    assert stored.status == "failed"
    assert "SubscriptionNotLinked" in stored.error


def test_temporary_stripe_failure_asks_for_a_retry_and_keeps_the_error(deliver, settings):
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens: connection refused
    settings.STRIPE_SECRET_KEY = "sk_test_x"
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    s = lifecycle()
    (response,) = deliver(s.events[1])  # the eager task's Retry is logged, not a 500
    assert response.status_code == 200
    stored = StripeEvent.objects.get()
    assert (stored.status, stored.attempts) == ("failed", 1)
    assert stored.error.startswith("TemporaryBillingError")

    with pytest.raises(Retry) as retry:
        process_stripe_event.apply(args=(stored.pk,))
    assert retry.value.when is not None  # backoff: a countdown, not at once
    stored.refresh_from_db()
    assert (stored.status, stored.attempts) == ("failed", 2)
    assert s.sub().stripe_subscription_id is None

    # Stripe is back (here: no client, the payload is applied): the retry succeeds.
    settings.STRIPE_API_BASE = None
    settings.STRIPE_SECRET_KEY = None
    process_stripe_event.apply(args=(stored.pk,))
    stored.refresh_from_db()
    assert (stored.status, stored.error, stored.attempts) == ("processed", "", 3)
    assert s.sub().stripe_subscription_id == s.sub_id


def test_late_news_of_an_old_subscription_does_not_end_the_new_one(deliver):
    s = lifecycle()
    e = dict(zip(NAMES, s.events, strict=True))
    deliver(*s.events)  # the first subscription ends
    assert s.sub().status == "canceled"

    now = int(time.time())
    new = subscription(
        id="sub_second",
        customer=s.customer,
        status="active",
        period_start=now,
        period_end=now + 30 * DAY,
        user_id=s.user.pk,
    )
    deliver(event("customer.subscription.created", new, created=now + 100))
    sub = s.sub()
    assert (sub.status, sub.stripe_subscription_id) == ("active", "sub_second")

    old_deleted = event(
        "customer.subscription.deleted",
        e["deleted"]["data"]["object"],
        created=now + 200,  # delivered late *and* stamped later: a retry of old news
    )
    old_failure = event(
        "invoice.payment_failed",
        e["payment_failed"]["data"]["object"],
        created=now + 300,
    )
    deliver(old_deleted, old_failure)
    sub = s.sub()
    assert (sub.status, sub.stripe_subscription_id, sub.past_due_since) == (
        "active",
        "sub_second",
        None,
    )
    deliver(event("checkout.session.completed", e["checkout"]["data"]["object"], created=now + 400))
    assert s.sub().stripe_subscription_id == "sub_second"


def test_ops_replay_failed_events_from_the_admin(deliver, client):
    from django.contrib.auth import get_user_model

    now = int(time.time())
    stray = subscription(
        id="sub_admin",
        customer="cus_admin",
        status="active",
        period_start=now,
        period_end=now + DAY,
    )
    evt = event("customer.subscription.updated", stray, created=now)
    deliver(evt)
    stored = StripeEvent.objects.get()
    assert stored.status == "failed"
    user = UserFactory()
    BillingCustomer.objects.create(user=user, stripe_customer_id="cus_admin")
    admin = get_user_model().objects.create_superuser(email="ops@example.com", password="x")
    client.force_login(admin)
    response = client.post(
        "/admin/subscriptions/stripeevent/",
        {"action": "replay", "_selected_action": [stored.pk]},
        follow=True,
    )
    assert response.status_code == 200
    stored.refresh_from_db()
    assert stored.status == "processed"
    assert Subscription.objects.get(user=user).stripe_subscription_id == "sub_admin"


def test_events_left_pending_are_requeued(deliver, django_capture_on_commit_callbacks):
    from subscriptions.services.stripe_events import stripe_event_store, stripe_events_requeue

    s = lifecycle()
    stored = stripe_event_store(event=s.events[1])  # stored, but its enqueue was lost
    assert stored is not None
    assert stripe_events_requeue() == 0  # too recent: intake may still enqueue it
    later = datetime.now(tz=UTC) + timedelta(minutes=11)
    with time_machine.travel(later), django_capture_on_commit_callbacks(execute=True):
        assert stripe_events_requeue() == 1
    assert StripeEvent.objects.get(pk=stored.pk).status == "processed"
    assert s.sub().stripe_subscription_id == s.sub_id


def test_late_payment_failure_after_recovery_sends_no_email(deliver):
    s = lifecycle()
    e = dict(zip(NAMES, s.events, strict=True))
    deliver(*s.events[:5], e["invoice_paid_recovery"])
    assert s.sub().status == "active"
    mail.outbox.clear()
    deliver(e["payment_failed"], e["trial_will_end"])
    assert s.sub().status == "active"
    assert mail.outbox == []
