from .audit import AuditEntry
from .notifications import Notification, NotificationStatus
from .paywall import AccessRule, MeterEntry, ReadEvent, RuleScope
from .plans import Plan, PlanInterval
from .statements import Payment, PublisherStatement
from .subscription import Subscription, SubscriptionStatus

__all__ = [
    "AccessRule",
    "AuditEntry",
    "MeterEntry",
    "Notification",
    "NotificationStatus",
    "Payment",
    "Plan",
    "PlanInterval",
    "PublisherStatement",
    "ReadEvent",
    "RuleScope",
    "Subscription",
    "SubscriptionStatus",
]
