"""What our database knows of Stripe, as the Stripe double's `mirror` hook takes it.

The double keeps its objects in its own process only, so each `make run` starts it empty
while our database still names the customers, subscriptions and paid invoices of the demo
(`devtools/history.py` writes them as webhook events, `cus_demo…`, `sub_demo…`,
`in_demo…`) and of any checkout made in an earlier run. `manage.py stripe_double_setup`
sends this to the double after every start, so refund, resync, cancel, a trial's
extension and the portal work on them as on a subscription made today. Part of
`devtools`: never used by the product.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dateutil.relativedelta import relativedelta
from django.conf import settings

from subscriptions.models import (
    LIVE_STATUSES,
    BillingCustomer,
    Payment,
    PlanInterval,
    Subscription,
    SubscriptionStatus,
)


def _seconds(at: datetime | None) -> int | None:
    return int(at.timestamp()) if at is not None else None


def _period(sub: Subscription) -> tuple[int, int] | None:
    """The period Stripe would show: the trial while trialing, else one plan interval
    ending at our `current_period_end`."""
    assert sub.plan is not None
    if sub.status == SubscriptionStatus.TRIALING and sub.trial_ends_at is not None:
        end = sub.current_period_end or sub.trial_ends_at
        start = sub.trial_started_at or end - relativedelta(days=settings.TRIAL_DAYS)
        return int(start.timestamp()), int(end.timestamp())
    if sub.current_period_end is None:
        return None
    step = (
        relativedelta(years=1)
        if sub.plan.interval == PlanInterval.YEAR
        else relativedelta(months=1)
    )
    end = sub.current_period_end
    return int((end - step).timestamp()), int(end.timestamp())


def billing_known_to_site() -> dict[str, list[dict[str, Any]]]:
    """Customers, subscriptions and paid invoices our tables name, in the double's terms.
    A subscription without a customer, a Stripe price or a period is left out (Stripe
    could not have made it)."""
    customers = {
        c.user_id: c
        for c in BillingCustomer.objects.filter(user__isnull=False).select_related("user")
    }
    subscriptions: list[dict[str, Any]] = []
    billed: dict[int, str] = {}  # reader -> their Stripe subscription
    rows = Subscription.objects.filter(
        stripe_subscription_id__isnull=False, user_id__in=customers.keys()
    ).select_related("plan")
    for sub in rows.filter(plan__stripe_price_id__isnull=False).order_by("pk"):
        period = _period(sub)
        if period is None or sub.user_id is None or sub.stripe_subscription_id is None:
            continue
        billed[sub.user_id] = sub.stripe_subscription_id
        # Stripe's trial_end is whole seconds and stays after the trial; a trial of ours
        # alone (a reader won back after it ran out) was never Stripe's.
        stripe_trial = sub.trial_ends_at is not None and sub.trial_ends_at.microsecond == 0
        assert sub.plan is not None
        subscriptions.append(
            {
                "id": sub.stripe_subscription_id,
                "customer": customers[sub.user_id].stripe_customer_id,
                "price": sub.plan.stripe_price_id,
                # Stripe has no complimentary or expired: ended there, whatever we did since.
                "status": sub.status if sub.status in LIVE_STATUSES else "canceled",
                "current_period_start": period[0],
                "current_period_end": period[1],
                "trial_start": _seconds(sub.trial_started_at if stripe_trial else None),
                "trial_end": _seconds(sub.trial_ends_at if stripe_trial else None),
                "cancel_at_period_end": sub.cancel_at_period_end,
                "metadata": {"user_id": str(sub.user_id)},
            }
        )
    invoices = [
        {
            "id": payment.stripe_invoice_id,
            "customer": customers[payment.user_id].stripe_customer_id,
            "subscription": billed.get(payment.user_id),
            "amount": payment.amount,
            "refunded": payment.refunded,
            "currency": payment.currency,
            "paid_at": int(payment.paid_at.timestamp()),
        }
        for payment in Payment.objects.filter(user_id__in=customers.keys()).order_by("paid_at")
        if payment.user_id is not None
    ]
    return {
        "customers": [
            {
                "id": c.stripe_customer_id,
                "email": c.user.email,
                "metadata": {"user_id": str(user_id)},
            }
            for user_id, c in customers.items()
            if c.user is not None
        ],
        "subscriptions": subscriptions,
        "invoices": invoices,
    }
