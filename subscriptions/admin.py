from django.contrib import admin

from .models import Plan, Subscription


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
