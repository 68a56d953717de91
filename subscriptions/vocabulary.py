"""The subscriptions vocabulary, in one place: statuses, access levels and reasons, the
audit actions (one dotted scheme, like `trial.started`), where a change came from, and
the kinds of email we send. No ORM and no imports of ours, so anything may use it."""

from __future__ import annotations

from django.db import models


class SubscriptionStatus(models.TextChoices):
    NONE = "none", "No subscription"
    TRIALING = "trialing", "Free trial"
    ACTIVE = "active", "Active"
    PAST_DUE = "past_due", "Payment overdue"
    CANCELED = "canceled", "Canceled"
    EXPIRED = "expired", "Trial ended"
    COMPLIMENTARY = "complimentary", "Complimentary"


# A Stripe subscription in one of these statuses is the reader's current one: it bills
# them, so the reader subscribes, cancels and resumes through Stripe.
LIVE_STATUSES: frozenset[str] = frozenset(
    {SubscriptionStatus.TRIALING, SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE}
)


class AccessLevel(models.TextChoices):
    FREE = "free", "Free"
    METERED = "metered", "Metered"
    REGISTERED = "registered", "Registered readers"
    PREMIUM = "premium", "Subscribers only"


class ArticleAccess(models.TextChoices):
    """An article's own setting: inherit its title's rule, or override it."""

    INHERIT = "inherit", "Inherit from the title"
    FREE = "free", "Free"
    METERED = "metered", "Metered"
    REGISTERED = "registered", "Registered readers"
    PREMIUM = "premium", "Subscribers only"


class EntitlementReason(models.TextChoices):
    """Why a reader may (or may not) read premium text, whatever the article."""

    SUBSCRIBER = "subscriber"
    TRIAL = "trial"
    COMPLIMENTARY = "complimentary"
    NONE = "none"


ENTITLED_REASONS: tuple[str, ...] = (
    EntitlementReason.SUBSCRIBER,
    EntitlementReason.TRIAL,
    EntitlementReason.COMPLIMENTARY,
)


class Reason(models.TextChoices):
    """Why the paywall granted or refused one read (entitled readers carry their
    entitlement's reason)."""

    FREE = "free"
    SUBSCRIBER = "subscriber"
    TRIAL = "trial"
    COMPLIMENTARY = "complimentary"
    METERED = "metered"
    REGISTERED = "registered"
    METER_EXHAUSTED = "meter_exhausted"
    REGISTRATION_REQUIRED = "registration_required"
    SUBSCRIBERS_ONLY = "subscribers_only"


WALL_REASONS = frozenset(
    {Reason.METER_EXHAUSTED, Reason.REGISTRATION_REQUIRED, Reason.SUBSCRIBERS_ONLY}
)


class AuditAction(models.TextChoices):
    """A line of a subscription's timeline: `<subject>.<what happened>`."""

    TRIAL_STARTED = "trial.started"
    TRIAL_CANCELED = "trial.canceled"
    TRIAL_EXPIRED = "trial.expired"
    TRIAL_EXTENDED = "trial.extended"
    TRIAL_REFUSED_CARD_REUSED = "trial.refused_card_reused"
    SUBSCRIPTION_STATUS_CHANGED = "subscription.status_changed"
    SUBSCRIPTION_CANCELED = "subscription.canceled"
    SUBSCRIPTION_COMPLIMENTARY_GRANTED = "subscription.complimentary_granted"
    STRIPE_LINKED = "stripe.linked"
    STRIPE_SUBSCRIPTION_SYNCED = "stripe.subscription_synced"
    STRIPE_INVOICE_APPLIED = "stripe.invoice_applied"
    STRIPE_PAST_DUE_DATED = "stripe.past_due_dated"
    # A publisher's changes (AuditEntry.publisher set, no subscription).
    RULE_PUBLISHED = "rule.published"
    RULE_ROLLED_BACK = "rule.rolled_back"
    ARTICLE_ACCESS_SET = "article.access_set"
    STAFF_INVITED = "staff.invited"
    STAFF_JOINED = "staff.joined"
    STAFF_REMOVED = "staff.removed"
    # Rules changed by operations staff in the Django admin.
    SITE_RULE_SET = "rule.site_set"


class AuditSource(models.TextChoices):
    """Who or what made a change."""

    TRIAL = "trial"
    STRIPE = "stripe"
    OPS = "ops"
    JOB = "job"
    READER = "reader"
    PUBLISHER = "publisher"


class NotificationKind(models.TextChoices):
    """Every email we send a reader; each has templates `subscriptions/email/<kind>.*`."""

    WELCOME = "welcome", "Welcome"
    TRIAL_ENDING = "trial_ending", "Your free trial ends soon"
    TRIAL_EXPIRED = "trial_expired", "Your free trial has ended"
    RENEWAL_NOTICE = "renewal_notice", "Your yearly subscription renews soon"
    DUNNING = "dunning", "We couldn't take your payment"
    PAYMENT_FAILED = "payment_failed", "Your payment did not go through"
    PAYMENT_ACTION_REQUIRED = "payment_action_required", "Please confirm your payment"
    TRIAL_WILL_END = "trial_will_end", "Your free trial ends soon"
    STAFF_INVITATION = "staff_invitation", "You are invited to a publisher portal"


class ConversionKind(models.TextChoices):
    """What a reader started: the two conversions a wall can be credited with."""

    TRIAL = "trial", "Free trial"
    SUBSCRIPTION = "subscription", "Paid subscription"


class CheckoutReturn(models.TextChoices):
    """What a reader's return from Stripe Checkout means, as Stripe says of the session."""

    PAID = "paid", "Paid"
    TRIAL = "trial", "Trial started, nothing charged"
    CONFIRMING = "confirming", "Payment being confirmed"
    EXPIRED = "expired", "Expired unpaid"


class MrrMovement(models.TextChoices):
    """How one change moved a subscription's monthly recurring revenue."""

    NEW = "new", "New"
    EXPANSION = "expansion", "Expansion"
    CONTRACTION = "contraction", "Contraction"
    CHURNED = "churned", "Churned"
    REACTIVATED = "reactivated", "Reactivated"


class StaffActionKind(models.TextChoices):
    """What a staff member did from the operations dashboard (the staff audit log)."""

    TRIAL_EXTENDED = "trial.extended"
    COMPLIMENTARY_GRANTED = "subscription.complimentary_granted"
    CANCELED = "subscription.canceled"
    CANCELED_AT_PERIOD_END = "subscription.canceled_at_period_end"
    RESYNCED = "subscription.resynced"
    PAYMENT_REFUNDED = "payment.refunded"
    WEBHOOK_REPLAYED = "webhook.replayed"
    EMAIL_RESENT = "email.resent"
