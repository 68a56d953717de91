"""The demo's subscribers and the ops dashboard, as `make run` serves them: `load_demo`, then
the Stripe double started and `stripe_double_setup` run. Every action the subscriber page
offers works on every kind of demo subscriber (through the ops views, audited), because
the demo's customers, subscriptions and paid invoices are in the double too."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone

from subscriptions.billing.stripe_client import stripe_client
from subscriptions.models import BillingCustomer, Payment, StaffAction, StripeEvent, Subscription
from subscriptions.services import staff_actions
from subscriptions.vocabulary import StaffActionKind
from tests.devtools.test_demo_history import SIZES

pytestmark = pytest.mark.django_db(transaction=False)

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
SITE = "http://masthead.test"
SECRET = "whsec_demo_ops"
# Each action's form fields (the reason and the once-only key are added for all).
FIELDS: dict[str, dict[str, str]] = {
    "extend-trial": {"days": "3"},
    "refund": {"amount": ""},
    "resync": {},
}
KINDS = {
    "cancel": {StaffActionKind.CANCELED, StaffActionKind.CANCELED_AT_PERIOD_END},
    "extend-trial": {StaffActionKind.TRIAL_EXTENDED},
    "grant-complimentary": {StaffActionKind.COMPLIMENTARY_GRANTED},
    "refund": {StaffActionKind.PAYMENT_REFUNDED},
    "resync": {StaffActionKind.RESYNCED},
    "resend-email": {StaffActionKind.EMAIL_RESENT},
}


@pytest.fixture
def demo_in_double(stripe_double_process, settings, time_machine) -> Any:
    """The demo loaded, then the double wired as `scripts/run.sh` does (no key). The
    history is written relative to now (its daily jobs at fixed hours), so the clock is
    set: the same kinds of subscriber whenever the test runs."""
    time_machine.move_to(NOW, tick=True)
    double = stripe_double_process
    double.reset(outbox=True)
    settings.STRIPE_SECRET_KEY = None
    settings.STRIPE_API_BASE = double.url
    settings.STRIPE_WEBHOOK_SECRET = SECRET
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    settings.SITE_URL = SITE
    call_command("load_demo", stdout=StringIO(), **SIZES)
    call_command("stripe_double_setup", stdout=StringIO())
    return double


def kind_of(sub: Subscription) -> tuple[str, bool, bool, bool]:
    """What decides which actions apply: status, billed in Stripe, set to end, paid."""
    paid = Payment.objects.filter(user=sub.user).exists()
    return (sub.status, bool(sub.stripe_subscription_id), sub.cancel_at_period_end, paid)


def demo_kinds() -> dict[tuple[str, bool, bool, bool], list[Subscription]]:
    kinds: dict[tuple[str, bool, bool, bool], list[Subscription]] = defaultdict(list)
    for sub in Subscription.objects.filter(user__isnull=False).order_by("pk"):
        kinds[kind_of(sub)].append(sub)
    return kinds


def offered(client: Any, sub: Subscription) -> list[str]:
    page = client.get(f"/ops/subscribers/{sub.pk}/").content.decode()
    return sorted(set(re.findall(rf"/ops/subscribers/{sub.pk}/([a-z-]+)/", page)))


def choices(page: str, name: str) -> list[str]:
    radios = re.findall(rf'name="{name}" value="([^"]+)"', page)
    return radios or re.findall(r'<option value="([^"]+)"', page)


def perform(client: Any, sub: Subscription, action: str, **fields: str) -> StaffAction:
    url = f"/ops/subscribers/{sub.pk}/{action}/"
    form = client.get(url)
    assert form.status_code == 200, (action, form.status_code)
    key = f"demo-ops-{action}-{sub.pk}-{fields.get('when', '')}"
    response = client.post(url, {**fields, "reason": "trying the demo", "key": key})
    errors = re.findall(r"<li>([^<]+)</li>", response.content.decode())
    assert response.status_code == 302, (kind_of(sub), action, fields, response.status_code, errors)
    done = StaffAction.objects.get(key=key)
    assert done.action in KINDS[action] and done.subscription_id == sub.pk
    assert (
        done.reason == "trying the demo"
        and getattr(done.actor, "email", "") == "ops@masthead.local"
    )
    return done


def test_every_offered_action_works_on_every_kind_of_demo_subscriber(demo_in_double, client):
    client.login(email="ops@masthead.local", password="masthead-ops")
    kinds = demo_kinds()
    # The kinds a newcomer meets: local trials, trials billed in Stripe, active (some set
    # to end), past due, canceled, trial ended, complimentary.
    statuses = {kind[0] for kind in kinds}
    assert {"trialing", "active", "past_due", "canceled", "expired", "complimentary"} <= statuses
    assert any(kind[1] and kind[0] == "trialing" for kind in kinds)
    tried: list[tuple[Any, str]] = []
    for kind, subs in kinds.items():
        actions = offered(client, subs[0])
        assert actions, kind
        touched: set[int] = set()

        def target(
            action: str, subs: list[Subscription] = subs, touched: set[int] = touched
        ) -> Subscription:
            """A subscriber of this kind no action touched yet if there is one, so that
            one action's effect (a cancel) does not decide whether the next applies."""
            fresh = [sub for sub in subs if sub.pk not in touched] or subs
            sub = next((s for s in fresh if action in offered(client, s)), fresh[0])
            touched.add(sub.pk)
            return sub

        # Cancel last: it ends what the others act on.
        for action in sorted(actions, key=lambda action: action == "cancel"):
            sub = target(action)
            page = client.get(f"/ops/subscribers/{sub.pk}/{action}/").content.decode()
            if action == "cancel":
                for when in choices(page, "when"):
                    perform(
                        client, sub if when == "period_end" else target(action), action, when=when
                    )
                    tried.append((kind, f"cancel {when}"))
                continue
            fields = dict(FIELDS.get(action, {}))
            if action == "grant-complimentary":
                fields["until"] = (timezone.now() + timedelta(days=30)).date().isoformat()
            if action == "resend-email":
                fields["notification"] = choices(page, "notification")[0]
            done = perform(client, sub, action, **fields)
            tried.append((kind, action))
            if action == "refund":
                payment = Payment.objects.get(stripe_invoice_id=done.before["payment"])
                assert payment.refunded == payment.amount
                invoice = demo_in_double.get(f"/v1/invoices/{payment.stripe_invoice_id}")
                assert invoice["amount_paid"] == payment.amount
            if action == "resync":  # Stripe said what we knew: nothing changed
                assert done.before == done.after, (kind, done.before, done.after)
    done_actions = {action for _, action in tried}
    assert {"resync", "refund", "extend-trial", "grant-complimentary"} <= done_actions
    assert {"cancel now", "cancel period_end"} <= done_actions


def test_what_does_not_apply_is_not_offered_or_says_why(demo_in_double, client):
    client.login(email="ops@masthead.local", password="masthead-ops")
    local_trial = Subscription.objects.filter(
        status="trialing", stripe_subscription_id__isnull=True, user__isnull=False
    ).first()
    billed = Subscription.objects.filter(status="active", cancel_at_period_end=False).first()
    assert local_trial and billed

    def whens(sub: Subscription) -> list[str]:
        return choices(client.get(f"/ops/subscribers/{sub.pk}/cancel/").content.decode(), "when")

    assert whens(local_trial) == ["now"]  # no billing period to end with
    assert whens(billed) == ["period_end", "now"]
    perform(client, billed, "cancel", when="period_end")
    assert whens(billed) == ["now"]  # already set to end with its period
    # Asked anyway (an old form): refused with the reason, nothing changed.
    response = client.post(
        f"/ops/subscribers/{local_trial.pk}/cancel/",
        {"when": "period_end", "reason": "r", "key": "k-old-form"},
    )
    assert response.status_code == 400
    assert b"Only now: not billed in Stripe, so there is no billing period" in response.content
    assert not StaffAction.objects.filter(key="k-old-form").exists()
    assert Subscription.objects.get(pk=local_trial.pk).status == "trialing"
    # The demo's one failed event names a subscription neither we nor Stripe know: the
    # replay is audited and fails again, saying what Stripe said (as real Stripe words it).
    event = StripeEvent.objects.get(status="failed")
    response = client.post(
        f"/ops/events/{event.stripe_id}/replay/", {"reason": "trying the demo", "key": "k-replay"}
    )
    assert response.status_code == 302
    done = StaffAction.objects.get(key="k-replay")
    assert done.action == StaffActionKind.WEBHOOK_REPLAYED and done.target == event.stripe_id
    stripe_id = event.payload["data"]["object"]["id"]
    assert done.after["status"] == "failed"
    assert done.after["error"] == f"BillingObjectMissing: No such subscription: '{stripe_id}'"


def test_the_double_setup_mirrors_the_demo_once(demo_in_double):
    billed = Subscription.objects.filter(stripe_subscription_id__isnull=False).select_related(
        "plan"
    )
    assert billed.exists()
    for sub in billed:
        remote = demo_in_double.get(f"/v1/subscriptions/{sub.stripe_subscription_id}")
        expected = sub.status if sub.status in ("trialing", "active", "past_due") else "canceled"
        assert remote["status"] == expected
        assert remote["cancel_at_period_end"] == sub.cancel_at_period_end
        assert sub.plan is not None and remote["plan"]["id"] == sub.plan.stripe_price_id
    for payment in Payment.objects.all():
        invoice = demo_in_double.get(f"/v1/invoices/{payment.stripe_invoice_id}")
        assert (invoice["status"], invoice["amount_paid"]) == ("paid", payment.amount)
    # "Manage billing" opens the portal for a demo customer.
    customer = BillingCustomer.objects.filter(user__subscription__in=billed).first()
    assert customer is not None
    url = stripe_client().portal_session_create(
        customer_id=customer.stripe_customer_id, return_url=SITE, idempotency_key="portal-demo"
    )
    assert url.startswith(demo_in_double.url)
    # Stripe says what we knew: a resync of any of them changes nothing.
    ops = get_user_model()._default_manager.get(email="ops@masthead.local")
    for sub in billed:
        done = staff_actions.subscription_resync(
            subscription_id=sub.pk, reason="check", actor_id=ops.pk, key=f"resync-{sub.pk}"
        )
        assert done.action.before == done.action.after, sub.stripe_subscription_id
    # Run again (a second `make run` against a double still running): nothing new, and no
    # webhook was sent for what was only copied.
    out = StringIO()
    call_command("stripe_double_setup", stdout=out)
    assert "0 customers, 0 subscriptions, 0 invoices copied" in out.getvalue()
    told = {delivery["type"].split(".")[0] for delivery in demo_in_double.take_deliveries()}
    assert told <= {"product", "plan"}  # our Prices (as ever), nothing of the copies
