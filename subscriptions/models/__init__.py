from .audit import AuditEntry
from .plans import Plan, PlanInterval
from .subscription import Subscription, SubscriptionStatus

__all__ = ["AuditEntry", "Plan", "PlanInterval", "Subscription", "SubscriptionStatus"]
