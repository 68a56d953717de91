from ..vocabulary import LIVE_STATUSES, MrrMovement, SubscriptionStatus
from .attribution import Conversion
from .audit import AuditEntry, DriftReport
from .billing import (
    BillingCustomer,
    CardFingerprint,
    StripeEvent,
    StripeEventStatus,
)
from .history import JobRun, MetricSnapshot, MrrChange, StaffAction
from .notifications import Notification, NotificationStatus
from .paywall import (
    AccessRule,
    MeterEntry,
    ReadEvent,
    ReadRollupCount,
    ReadRollupDay,
    ReadRollupDirty,
    ReadRollupReader,
    ReadRollupState,
    RuleScope,
)
from .plans import Plan, PlanInterval
from .statements import Payment, PublisherStatement
from .subscription import Subscription, SubscriptionQuerySet

__all__ = [
    "LIVE_STATUSES",
    "AccessRule",
    "AuditEntry",
    "BillingCustomer",
    "CardFingerprint",
    "Conversion",
    "DriftReport",
    "JobRun",
    "MeterEntry",
    "MetricSnapshot",
    "MrrChange",
    "MrrMovement",
    "Notification",
    "NotificationStatus",
    "Payment",
    "Plan",
    "PlanInterval",
    "PublisherStatement",
    "ReadEvent",
    "ReadRollupCount",
    "ReadRollupDay",
    "ReadRollupDirty",
    "ReadRollupReader",
    "ReadRollupState",
    "RuleScope",
    "StaffAction",
    "StripeEvent",
    "StripeEventStatus",
    "Subscription",
    "SubscriptionQuerySet",
    "SubscriptionStatus",
]
