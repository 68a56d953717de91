from collections.abc import Callable

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from config.exceptions import ApplicationError

from .billing.stripe_client import BillingError
from .models import (
    AuditEntry,
    BillingCustomer,
    CardFingerprint,
    Conversion,
    DriftReport,
    JobRun,
    MeterEntry,
    MetricSnapshot,
    MrrChange,
    Notification,
    Payment,
    Plan,
    PublisherStatement,
    ReadEvent,
    StaffAction,
    StripeEvent,
    StripeEventStatus,
    Subscription,
    SubscriptionStatus,
)
from .services import cancellation, complimentary, trials
from .services.stripe_events import stripe_event_replay
from .vocabulary import AuditSource

TRIAL_EXTENSION_DAYS = 7
COMPLIMENTARY_DAYS = 30


class RecordAdmin(admin.ModelAdmin):
    """A record kept by the services (a mirror of Stripe, a log): read it here, change it
    only through the services (the ops dashboard's audited actions)."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = (
        "code",
        "name",
        "interval",
        "amount",
        "currency",
        "stripe_price_id",
        "is_active",
    )
    list_filter = ("interval", "is_active")

    def get_readonly_fields(self, request: HttpRequest, obj: Plan | None = None) -> tuple[str, ...]:
        # A saved plan mirrors its Stripe Price: its price and interval are Stripe's.
        return ("code", "interval", "amount", "currency", "stripe_price_id") if obj else ()

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    """Read-only: every change is an action that calls a service, so it goes through
    `transition()` and leaves an audit entry naming the staff member. The actions need
    the change permission (the form still edits nothing); viewing needs only view."""

    list_display = (
        "user",
        "status",
        "plan",
        "trial_ends_at",
        "current_period_end",
        "cancel_at_period_end",
        "stripe_subscription_id",
        "updated_at",
    )
    list_filter = ("status", "plan", "cancel_at_period_end")
    list_select_related = ("user", "plan")
    search_fields = ("user__email", "stripe_subscription_id")
    date_hierarchy = "created_at"
    show_full_result_count = False
    actions = ["extend_trial", "grant_complimentary", "cancel"]

    def get_readonly_fields(
        self, request: HttpRequest, obj: Subscription | None = None
    ) -> list[str]:
        return [f.name for f in Subscription._meta.concrete_fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Subscription | None = None) -> bool:
        return False

    def _each(
        self,
        request: HttpRequest,
        queryset: QuerySet[Subscription],
        done: str,
        change: Callable[[Subscription], object],
    ) -> None:
        """Apply `change` to each row; a refusal names the reader and stops nothing else."""
        changed, refused = 0, []
        for sub in queryset:
            try:
                change(sub)
            except (ApplicationError, BillingError) as exc:
                refused.append(f"{sub.user or sub.pk}: {exc}")
                continue
            changed += 1
        self.message_user(request, f"{done}: {changed}.", messages.SUCCESS)
        for line in refused:
            self.message_user(request, f"Refused — {line}", messages.WARNING)

    @admin.action(
        description=f"Extend the free trial by {TRIAL_EXTENSION_DAYS} days", permissions=["change"]
    )
    def extend_trial(self, request: HttpRequest, queryset: QuerySet[Subscription]) -> None:
        self._each(
            request,
            queryset,
            "Trials extended",
            lambda sub: trials.trial_extend(
                subscription_id=sub.pk, days=TRIAL_EXTENSION_DAYS, actor_id=request.user.pk
            ),
        )

    @admin.action(
        description=f"Grant {COMPLIMENTARY_DAYS} days of complimentary access",
        permissions=["change"],
    )
    def grant_complimentary(self, request: HttpRequest, queryset: QuerySet[Subscription]) -> None:
        self._each(
            request,
            queryset,
            "Complimentary access granted",
            lambda sub: complimentary.complimentary_grant(
                subscription_id=sub.pk, days=COMPLIMENTARY_DAYS, actor_id=request.user.pk
            ),
        )

    @admin.action(
        description="Cancel (Stripe: at the period's end; otherwise now)", permissions=["change"]
    )
    def cancel(self, request: HttpRequest, queryset: QuerySet[Subscription]) -> None:
        self._each(request, queryset, "Canceled", lambda sub: _staff_cancel(sub, request))


def _staff_cancel(sub: Subscription, request: HttpRequest) -> Subscription:
    if sub.status == SubscriptionStatus.COMPLIMENTARY:
        return complimentary.complimentary_end(subscription_id=sub.pk, actor_id=request.user.pk)
    if sub.user is None:
        raise ApplicationError("The reader's account is deleted.", code="no_reader")
    return cancellation.subscription_cancel(
        user=sub.user, source=AuditSource.OPS, actor_id=request.user.pk
    )


# AccessRule's admin is publishers/admin.py: a rule changed there is published through
# the portal's versioning service (a version in the title's history, audited).


@admin.register(BillingCustomer)
class BillingCustomerAdmin(RecordAdmin):
    list_display = ("stripe_customer_id", "user", "created_at")
    list_select_related = ("user",)
    search_fields = ("stripe_customer_id", "user__email")


@admin.register(StripeEvent)
class StripeEventAdmin(admin.ModelAdmin):
    list_display = ("stripe_id", "type", "status", "created", "received_at", "attempts")
    list_filter = ("status", "type")
    search_fields = ("stripe_id",)
    readonly_fields = (
        "stripe_id",
        "type",
        "payload",
        "created",
        "received_at",
        "processed_at",
        "status",
        "error",
        "attempts",
    )
    date_hierarchy = "created"
    actions = ["replay"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.action(description="Replay the selected events", permissions=["change"])
    def replay(self, request: HttpRequest, queryset: QuerySet[StripeEvent]) -> None:
        results = [stripe_event_replay(event_id=e.stripe_id) for e in queryset]
        failed = [e.stripe_id for e in results if e.status == StripeEventStatus.FAILED]
        self.message_user(
            request,
            f"Replayed {len(results)} event(s); failed again: {', '.join(failed) or 'none'}.",
            level=messages.WARNING if failed else messages.SUCCESS,
        )


@admin.register(Payment)
class PaymentAdmin(RecordAdmin):
    list_display = ("stripe_invoice_id", "user", "amount", "refunded", "currency", "paid_at")
    list_select_related = ("user",)
    search_fields = ("stripe_invoice_id", "user__email")
    list_filter = ("currency",)
    date_hierarchy = "paid_at"


@admin.register(AuditEntry)
class AuditEntryAdmin(RecordAdmin):
    list_display = ("at", "subscription", "action", "from_status", "to_status", "source", "actor")
    list_select_related = ("subscription__user", "actor")
    list_filter = ("source", "to_status")
    search_fields = ("action", "subscription__user__email")
    date_hierarchy = "at"
    show_full_result_count = False


@admin.register(StaffAction)
class StaffActionAdmin(RecordAdmin):
    list_display = ("at", "action", "actor", "subscription", "target", "reason")
    list_select_related = ("actor", "subscription__user")
    list_filter = ("action",)
    search_fields = ("reason", "target", "actor__email", "subscription__user__email")
    date_hierarchy = "at"


@admin.register(Notification)
class NotificationAdmin(RecordAdmin):
    list_display = ("created_at", "user", "email", "kind", "period", "status", "sent_at")
    list_select_related = ("user",)
    list_filter = ("status", "kind")
    search_fields = ("user__email", "email", "kind")
    date_hierarchy = "created_at"


@admin.register(Conversion)
class ConversionAdmin(RecordAdmin):
    """Kept when each trial or paid subscription started (services/attribution.py)."""

    list_display = ("started_at", "kind", "subscription", "publication", "article", "walled_at")
    list_select_related = ("subscription__user", "publication", "article")
    list_filter = ("kind",)
    search_fields = ("subscription__user__email", "publication__slug", "article__slug")
    raw_id_fields = ("subscription", "publication", "article")
    date_hierarchy = "started_at"


@admin.register(CardFingerprint)
class CardFingerprintAdmin(RecordAdmin):
    list_display = ("fingerprint", "user", "first_seen_at")
    search_fields = ("fingerprint", "user__email")


@admin.register(DriftReport)
class DriftReportAdmin(RecordAdmin):
    list_display = ("ran_at", "checked", "repaired", "unknown", "error")


@admin.register(MrrChange)
class MrrChangeAdmin(RecordAdmin):
    list_display = ("at", "subscription", "movement", "before", "after", "currency")
    list_filter = ("movement",)
    search_fields = ("subscription__user__email",)
    date_hierarchy = "at"
    show_full_result_count = False


@admin.register(JobRun)
class JobRunAdmin(RecordAdmin):
    list_display = ("name", "started_at", "finished_at", "ok", "result")
    list_filter = ("name", "ok")


@admin.register(MetricSnapshot)
class MetricSnapshotAdmin(RecordAdmin):
    list_display = ("day", "computed_at")
    date_hierarchy = "day"


@admin.register(PublisherStatement)
class PublisherStatementAdmin(RecordAdmin):
    list_display = ("month", "publisher", "qualified_reads", "amount", "currency")
    list_filter = ("month",)
    list_select_related = ("publisher",)


@admin.register(ReadEvent)
class ReadEventAdmin(RecordAdmin):
    list_display = ("at", "reader_key", "user", "article", "granted", "reason", "channel")
    list_filter = ("granted", "reason", "channel")
    raw_id_fields = ("user", "article", "publication")
    show_full_result_count = False  # millions of rows: never count them all


@admin.register(MeterEntry)
class MeterEntryAdmin(RecordAdmin):
    list_display = ("created_at", "reader_key", "article", "window_start")
    raw_id_fields = ("article", "publication")
    show_full_result_count = False
