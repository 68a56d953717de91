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
    """Staff type the amount in pounds and pence; it is converted exactly to minor units
    for Stripe and the audit, and shown back formatted."""
    user, client = reader()
    subscribe(double, relay, client)
    sub = sub_of(user)
    payment = Payment.objects.get(user=user)
    assert payment.amount == 999
    url = f"/ops/subscribers/{sub.pk}/refund/"
    form = ops_client.get(url).content.decode()
    assert "Amount (GBP)" in form and "9.99 GBP is left of the last payment" in form
    response = ops_client.post(
        url, {"amount": " 2.5 ", "reason": "late delivery", "key": "r1"}, follow=True
    )
    assert response.redirect_chain[-1][1] == 302
    assert "Refunded 2.50 GBP of invoice" in response.content.decode()
    payment.refresh_from_db()
    assert payment.refunded == 250
    too_much = ops_client.post(url, {"amount": "7.50", "reason": "r", "key": "r2"})
    assert too_much.status_code == 400
    assert "more than is left of the last payment (7.49 GBP)" in too_much.content.decode()
    assert Payment.objects.get(pk=payment.pk).refunded == 250
    rest = ops_client.post(url, {"amount": "", "reason": "refund the rest", "key": "r4"})
    assert rest.status_code == 302
    assert Payment.objects.get(pk=payment.pk).refunded == 999
    done = StaffAction.objects.filter(action="payment.refunded").order_by("at")
    # The audit keeps minor units.
    assert [(d.before["refunded"], d.after["refunded"]) for d in done] == [(0, 250), (250, 999)]
    assert all(d.after["refund"].startswith("re_") for d in done)
    # What Stripe holds: two refunds on the invoice's charge, 250 and 749.
    invoice = invoices_of(double, user)[0]
    refunds = double.get(f"/v1/refunds?payment_intent={invoice['payment_intent']}")["data"]
    assert sorted(r["amount"] for r in refunds) == [250, 749]
    again = ops_client.post(url, {"reason": "r", "key": "r5"})
    assert again.status_code == 400
    assert b"already fully refunded" in again.content


@pytest.mark.parametrize(
    "amount, error",
    [
        ("-5", "more than zero"),
        ("0", "more than zero"),
        ("0.00", "more than zero"),
        ("1.505", "at most 2 decimal places"),
        ("0.001", "at most 2 decimal places"),
        ("ten", "like 12.50"),
        ("1e3", "like 12.50"),
        ("3,50", "like 12.50"),
        ("£3", "like 12.50"),
        ("NaN", "like 12.50"),
        ("1" * 40, "like 12.50"),
        ("10.00", "more than is left of the last payment (9.99 GBP)"),
    ],
)
def test_a_bad_refund_amount_is_a_form_error_and_refunds_nothing(
    double, relay, ops_client, amount, error
):
    user, client = reader()
    subscribe(double, relay, client)
    sub = sub_of(user)
    response = ops_client.post(
        f"/ops/subscribers/{sub.pk}/refund/", {"amount": amount, "reason": "r", "key": "b1"}
    )
    assert response.status_code == 400
    assert error in response.content.decode()
    assert Payment.objects.get(user=user).refunded == 0
    assert not StaffAction.objects.exists()
    invoice = invoices_of(double, user)[0]
    assert double.get(f"/v1/refunds?payment_intent={invoice['payment_intent']}")["data"] == []


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


def test_resync_of_an_ended_stripe_subscription_keeps_complimentary_access(double, relay, ops_user):
    """A former subscriber granted complimentary access: their old Stripe subscription
    (canceled there) has nothing to say about it, so a resync changes nothing."""
    user, client = reader()
    subscribe(double, relay, client)
    sub = sub_of(user)
    staff_actions.subscription_cancel_by_staff(
        subscription_id=sub.pk, at_period_end=False, reason="left", actor_id=ops_user.pk, key="x1"
    )
    relay()
    assert sub_of(user).status == "canceled"
    until = (sub_of(user).updated_at + timedelta(days=30)).date()
    staff_actions.complimentary_grant(
        subscription_id=sub.pk, until=until, reason="press", actor_id=ops_user.pk, key="x2"
    )
    assert sub_of(user).status == "complimentary"
    done = staff_actions.subscription_resync(
        subscription_id=sub.pk, reason="check", actor_id=ops_user.pk, key="x3"
    )
    assert sub_of(user).status == "complimentary"
    assert done.action.before == done.action.after
