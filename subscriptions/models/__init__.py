from .audit import AuditEntry
from .billing import (
    BillingCustomer,
    BillingNotice,
    CardFingerprint,
    StripeEvent,
    StripeEventStatus,
)
from .plans import Plan, PlanInterval
from .subscription import Subscription, SubscriptionStatus

__all__ = [
    "AuditEntry",
    "BillingCustomer",
    "BillingNotice",
    "CardFingerprint",
    "Plan",
    "PlanInterval",
    "StripeEvent",
    "StripeEventStatus",
    "Subscription",
    "SubscriptionStatus",
]
