from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from .models import AccessRule, BillingCustomer, Plan, StripeEvent, Subscription
from .paywall import rules
from .services.stripe_events import stripe_event_replay


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "interval", "amount", "currency", "stripe_price_id")


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ("user", "status", "plan", "trial_ends_at", "current_period_end")
    list_filter = ("status",)
    search_fields = ("user__email", "stripe_subscription_id")
    raw_id_fields = ("user",)
    readonly_fields = ("status",)


@admin.register(AccessRule)
class AccessRuleAdmin(admin.ModelAdmin):
    list_display = (
        "scope",
        "publisher",
        "publication",
        "access_level",
        "free_articles_cap",
        "preview_paragraphs",
        "updated_at",
    )
    list_filter = ("scope", "access_level")
    raw_id_fields = ("publisher", "publication")

    def save_model(self, request, obj, form, change):  # type: ignore[no-untyped-def]
        # Through the rules service, so every process drops its cached resolution.
        rules.rule_set(
            scope=obj.scope,
            target_id=obj.publication_id or obj.publisher_id,
            access_level=obj.access_level,
            free_articles_cap=obj.free_articles_cap,
            preview_paragraphs=obj.preview_paragraphs,
        )

    def delete_model(self, request, obj):  # type: ignore[no-untyped-def]
        super().delete_model(request, obj)
        rules.invalidate()


@admin.register(BillingCustomer)
class BillingCustomerAdmin(admin.ModelAdmin):
    list_display = ("stripe_customer_id", "user", "created_at")
    search_fields = ("stripe_customer_id", "user__email")
    raw_id_fields = ("user",)


@admin.register(StripeEvent)
class StripeEventAdmin(admin.ModelAdmin):
    list_display = ("stripe_id", "type", "status", "created", "received_at", "attempts")
    list_filter = ("status", "type")
    search_fields = ("stripe_id",)
    readonly_fields = ("stripe_id", "type", "payload", "created", "received_at")
    actions = ["replay"]

    @admin.action(description="Replay the selected events")
    def replay(self, request: HttpRequest, queryset: QuerySet[StripeEvent]) -> None:
        results = [stripe_event_replay(event_id=e.stripe_id) for e in queryset]
        failed = [e.stripe_id for e in results if e.status == "failed"]
        self.message_user(
            request,
            f"Replayed {len(results)} event(s); failed again: {', '.join(failed) or 'none'}.",
            level=messages.WARNING if failed else messages.SUCCESS,
        )
