"""Serializers of the billing API (the `user` shape is accounts.serializers.UserSerializer)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from .models import Plan


class PlanSerializer(serializers.ModelSerializer[Plan]):
    class Meta:
        model = Plan
        fields = ["code", "name", "interval", "amount", "currency"]


class CheckoutRequestSerializer(serializers.Serializer[Any]):
    plan = serializers.SlugField(max_length=40)


class UrlSerializer(serializers.Serializer[Any]):
    url = serializers.URLField()
