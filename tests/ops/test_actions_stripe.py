"""The dashboard's actions against the Stripe double (localstripe + our extension):
what Stripe is told, what we end up with, and that a Stripe failure changes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from subscriptions.models import Payment, StaffAction, Subscription
from subscriptions.services import staff_actions
from tests.subscriptions.test_stripe_double import invoices_of, reader, sub_of, subscribe

pytestmark = pytest.mark.django_db


def state(sub: Subscription) -> tuple:
    sub = Subscription.objects.get(pk=sub.pk)
    payments = list(Payment.objects.values_list("refunded", flat=True))
    return (sub.status, sub.trial_ends_at, sub.cancel_at_period_end, payments)


def test_extend_a_trial_billed_in_stripe(double, relay, ops_client, ops_user):
    user, client = reader(trial_days=10)
    stripe_id = subscribe(double, relay, client)
    sub = sub_of(user)
    ends = sub.trial_ends_at
    assert sub.status == "trialing" and ends is not None
    response = ops_client.post(
        f"/ops/subscribers/{sub.pk}/extend-trial/",
        {"days": "7", "reason": "Outage week", "key": "k-stripe-trial"},
    )
    assert response.status_code == 302
    assert double.get(f"/v1/subscriptions/{stripe_id}")["trial_end"] == int(
        (ends + timedelta(days=7)).timestamp()
    )
    assert sub_of(user).trial_ends_at == ends + timedelta(days=7)
    relay()  # Stripe's .updated agrees
    assert sub_of(user).trial_ends_at == ends + timedelta(days=7)
    done = StaffAction.objects.get()
    assert done.before["trial_ends_at"] != done.after["trial_ends_at"]


def test_cancel_at_period_end_and_now_through_stripe(double, relay, ops_user):
    user, client = reader()
    stripe_id = subscribe(double, relay, client)
    sub = sub_of(user)
    assert sub.status == "active"
    staff_actions.subscription_cancel_by_staff(
        subscription_id=sub.pk, at_period_end=True, reason="asked", actor_id=ops_user.pk, key="c1"
    )
    assert double.get(f"/v1/subscriptions/{stripe_id}")["cancel_at_period_end"] is True
    assert (sub_of(user).status, sub_of(user).cancel_at_period_end) == ("active", True)
    relay()
    staff_actions.subscription_cancel_by_staff(
        subscription_id=sub.pk, at_period_end=False, reason="fraud", actor_id=ops_user.pk, key="c2"
    )
    assert double.get(f"/v1/subscriptions/{stripe_id}")["status"] == "canceled"
    assert sub_of(user).status == "canceled"
    relay()
    assert sub_of(user).status == "canceled"
    assert [a.action for a in StaffAction.objects.order_by("at")] == [
        "subscription.canceled_at_period_end",
        "subscription.canceled",
    ]


def test_refund_the_last_payment_in_full_and_in_part(double, relay, ops_client, ops_user):
    user, client = reader()
    subscribe(double, relay, client)
    sub = sub_of(user)
    payment = Payment.objects.get(user=user)
    assert payment.amount == 999
    url = f"/ops/subscribers/{sub.pk}/refund/"
    response = ops_client.post(url, {"amount": "300", "reason": "late delivery", "key": "r1"})
    assert response.status_code == 302
    payment.refresh_from_db()
    assert payment.refunded == 300
    too_much = ops_client.post(url, {"amount": "700", "reason": "r", "key": "r2"})
    assert too_much.status_code == 400
    assert b"more than is left of the last payment (699 gbp)" in too_much.content
    assert Payment.objects.get(pk=payment.pk).refunded == 300
    for bad in ["-5", "0", "1.50", "ten"]:
        response = ops_client.post(url, {"amount": bad, "reason": "r", "key": "r3"})
        assert response.status_code == 400, bad
    rest = ops_client.post(url, {"amount": "", "reason": "refund the rest", "key": "r4"})
    assert rest.status_code == 302
    assert Payment.objects.get(pk=payment.pk).refunded == 999
    done = StaffAction.objects.filter(action="payment.refunded").order_by("at")
    assert [(d.before["refunded"], d.after["refunded"]) for d in done] == [(0, 300), (300, 999)]
    assert all(d.after["refund"].startswith("re_") for d in done)
    # What Stripe holds: two refunds on the invoice's charge, 300 and 699.
    invoice = invoices_of(double, user)[0]
    refunds = double.get(f"/v1/refunds?payment_intent={invoice['payment_intent']}")["data"]
    assert sorted(r["amount"] for r in refunds) == [300, 699]
    again = ops_client.post(url, {"reason": "r", "key": "r5"})
    assert again.status_code == 400
    assert b"already fully refunded" in again.content


def test_resync_from_stripe_repairs_drift(double, relay, ops_user):
    user, client = reader()
    subscribe(double, relay, client)
    sub = sub_of(user)
    Subscription.objects.filter(pk=sub.pk).update(status="past_due", cancel_at_period_end=True)
    staff_actions.subscription_resync(
        subscription_id=sub.pk, reason="drift", actor_id=ops_user.pk, key="s1"
    )
    assert (sub_of(user).status, sub_of(user).cancel_at_period_end) == ("active", False)
    done = StaffAction.objects.get()
    assert (done.before["status"], done.after["status"]) == ("past_due", "active")


def test_a_stripe_failure_is_clear_and_changes_nothing(double, relay, ops_client, settings):
    user, client = reader()
    subscribe(double, relay, client)
    sub = sub_of(user)
    # Stripe answers 404 for this id: it refuses every change.
    Subscription.objects.filter(pk=sub.pk).update(stripe_subscription_id="sub_unknown")
    before = state(sub)
    response = ops_client.post(
        f"/ops/subscribers/{sub.pk}/cancel/", {"when": "now", "reason": "r", "key": "f1"}
    )
    assert response.status_code == 502
    assert b"Stripe did not accept the change, so nothing was changed here" in response.content
    assert state(sub) == before
    assert not StaffAction.objects.exists()
    for action, data in [
        ("cancel", {"when": "period_end"}),
        ("resync", {}),
    ]:
        response = ops_client.post(
            f"/ops/subscribers/{sub.pk}/{action}/", {**data, "reason": "r", "key": action}
        )
        assert response.status_code == 502, action
        assert state(sub) == before
    # Stripe unreachable: the same.
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens there
    response = ops_client.post(f"/ops/subscribers/{sub.pk}/refund/", {"reason": "r", "key": "f2"})
    assert response.status_code == 502
    assert state(sub) == before
    assert not StaffAction.objects.exists()


def test_complimentary_is_refused_while_stripe_bills_the_reader(double, relay, ops_client):
    user, client = reader()
    subscribe(double, relay, client)
    sub = sub_of(user)
    before = state(sub)
    response = ops_client.post(
        f"/ops/subscribers/{sub.pk}/grant-complimentary/",
        {"until": "2027-06-01", "reason": "r", "key": "g1"},
    )
    assert response.status_code == 400
    assert b"cancel the subscription first" in response.content
    assert state(sub) == before
