from .plans import Plan, PlanInterval
from .subscription import Subscription, SubscriptionStatus

__all__ = ["Plan", "PlanInterval", "Subscription", "SubscriptionStatus"]
