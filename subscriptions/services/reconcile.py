"""The nightly reconciliation: walk Stripe's subscriptions, repair drift from missed
webhooks, and report what differed."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..billing.stripe_client import from_stripe_time, stripe_client, subscription_period
from ..models import LIVE_STATUSES, Subscription
from ..vocabulary import AuditSource
from .stripe_sync import STRIPE_STATUS_MAP, SubscriptionNotLinked, subscription_sync_from_stripe

logger = logging.getLogger(__name__)


@dataclass
class ReconcileReport:
    checked: int = 0
    repaired: int = 0
    unknown: int = 0
    drift: list[dict[str, Any]] = field(default_factory=list)


def _differences(sub: Subscription, stripe_sub: Mapping[str, Any]) -> dict[str, Any]:
    status = STRIPE_STATUS_MAP.get(str(stripe_sub.get("status")))
    period_end = from_stripe_time(subscription_period(stripe_sub).end)
    theirs = {
        "status": status or sub.status,
        "current_period_end": period_end or sub.current_period_end,
        "cancel_at_period_end": bool(stripe_sub.get("cancel_at_period_end")),
    }
    return {
        name: {"ours": str(getattr(sub, name)), "stripe": str(value)}
        for name, value in theirs.items()
        if getattr(sub, name) != value
    }


def stripe_reconcile(*, page_size: int = 100) -> ReconcileReport:
    """Nightly: walk every Stripe subscription (a page per API call, one query per page),
    repair rows that drifted from Stripe (missed webhooks) and report what differed."""
    client = stripe_client()
    report = ReconcileReport()
    for page in client.subscription_pages(page_size=page_size):
        ids = [str(item["id"]) for item in page]
        local = {
            sub.stripe_subscription_id: sub
            for sub in Subscription.objects.filter(stripe_subscription_id__in=ids)
        }
        for stripe_sub in page:
            report.checked += 1
            sub = local.get(str(stripe_sub["id"]))
            if sub is None:
                if STRIPE_STATUS_MAP.get(str(stripe_sub.get("status"))) not in LIVE_STATUSES:
                    continue  # an old or abandoned subscription nobody needs
                try:
                    subscription_sync_from_stripe(
                        stripe_subscription=stripe_sub, source=AuditSource.JOB
                    )
                except SubscriptionNotLinked:
                    report.unknown += 1
                    continue
                report.repaired += 1
                report.drift.append({"stripe": stripe_sub["id"], "linked": True})
                continue
            differences = _differences(sub, stripe_sub)
            if differences:
                subscription_sync_from_stripe(
                    stripe_subscription=stripe_sub, source=AuditSource.JOB
                )
                report.repaired += 1
                report.drift.append({"stripe": stripe_sub["id"], **differences})
    if report.drift:
        logger.warning("Stripe reconciliation repaired drift: %s", report.drift)
    return report
