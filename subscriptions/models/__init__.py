from .audit import AuditEntry
from .paywall import AccessRule, MeterEntry, ReadEvent, RuleScope
from .plans import Plan, PlanInterval
from .subscription import Subscription, SubscriptionStatus

__all__ = [
    "AccessRule",
    "AuditEntry",
    "MeterEntry",
    "Plan",
    "PlanInterval",
    "ReadEvent",
    "RuleScope",
    "Subscription",
    "SubscriptionStatus",
]
