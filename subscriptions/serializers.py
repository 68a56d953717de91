"""Serializers of the billing API. `UserStateSerializer` is the API's `user` shape."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from accounts.models import User

from .models import Plan, Subscription
from .selectors import entitlement_of


class PlanSerializer(serializers.ModelSerializer[Plan]):
    class Meta:
        model = Plan
        fields = ["code", "name", "interval", "amount", "currency"]


class SubscriptionStateSerializer(serializers.Serializer[Any]):
    status = serializers.CharField()
    plan = serializers.CharField(allow_null=True)
    trial_ends_at = serializers.DateTimeField(allow_null=True)
    current_period_end = serializers.DateTimeField(allow_null=True)
    cancel_at_period_end = serializers.BooleanField()


class UserStateSerializer(serializers.Serializer[Any]):
    """`{email, subscription: {status, plan, trial_ends_at, current_period_end,
    cancel_at_period_end}, entitled}` built from a user (and its subscription row)."""

    email = serializers.EmailField()
    subscription = SubscriptionStateSerializer()
    entitled = serializers.BooleanField()

    def to_representation(self, instance: Any) -> dict[str, Any]:
        user: User = instance
        sub = Subscription.objects.select_related("plan").filter(user=user).first()
        state = {
            "status": sub.status if sub else "none",
            "plan": sub.plan.code if sub and sub.plan else None,
            "trial_ends_at": sub.trial_ends_at if sub else None,
            "current_period_end": sub.current_period_end if sub else None,
            "cancel_at_period_end": sub.cancel_at_period_end if sub else False,
        }
        return {
            "email": user.email,
            "subscription": SubscriptionStateSerializer(state).data,
            "entitled": entitlement_of(sub).entitled,
        }


class CheckoutRequestSerializer(serializers.Serializer[Any]):
    plan = serializers.SlugField(max_length=40)


class UrlSerializer(serializers.Serializer[Any]):
    url = serializers.URLField()
