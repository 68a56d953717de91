from django.contrib import admin

from .models import AccessRule, Plan, Subscription
from .paywall import rules


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
