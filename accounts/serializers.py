"""API input and output shapes for accounts. Strict: strings only, bounded lengths."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .identity import validate_reader_email
from .passwords import PASSWORD_MAX_LENGTH, PASSWORD_TOO_LONG

# Django's MinimumLengthValidator default; tests/test_schema_contract.py keeps them equal.
PASSWORD_MIN_LENGTH = 8


class StrictCharField(serializers.CharField):
    """A CharField that refuses numbers, booleans and lists instead of coercing them."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class CredentialsSerializer(serializers.Serializer[Any]):
    email = StrictCharField(
        max_length=254,
        trim_whitespace=True,
        error_messages={
            "required": "Enter your email address.",
            "blank": "Enter your email address.",
            "invalid": "The email address must be text.",
            "max_length": "That email address is too long.",
        },
    )
    password = StrictCharField(
        max_length=PASSWORD_MAX_LENGTH,
        trim_whitespace=False,
        error_messages={
            "required": "Enter a password.",
            "blank": "Enter a password.",
            "invalid": "The password must be text.",
            "max_length": PASSWORD_TOO_LONG,
        },
    )


class PasswordSerializer(serializers.Serializer[Any]):
    password = StrictCharField(
        max_length=PASSWORD_MAX_LENGTH,
        trim_whitespace=False,
        error_messages={
            "required": "Type your password to confirm.",
            "blank": "Type your password to confirm.",
            "invalid": "The password must be text.",
            "max_length": PASSWORD_TOO_LONG,
        },
    )


@extend_schema_field(
    {
        "type": "string",
        "minLength": PASSWORD_MIN_LENGTH,
        "maxLength": PASSWORD_MAX_LENGTH,
        "pattern": "[^0-9]",
        "description": f"At least {PASSWORD_MIN_LENGTH} characters, not only digits; also "
        "refused (400 `weak_password`): a common password, or one too like the address.",
    }
)
class NewPasswordField(StrictCharField):
    """A new password: the service checks it with Django's password validators; the
    schema states the rules a client can check itself."""


class SignupSerializer(CredentialsSerializer):
    """`{email, password}` and, optionally, `from`: the slug of the article whose wall sent
    the reader (attribution)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["email"].validators.append(validate_reader_email)
        password = self.fields["password"]
        self.fields["password"] = NewPasswordField(
            max_length=PASSWORD_MAX_LENGTH,
            trim_whitespace=False,
            error_messages=password.error_messages,
        )
        self.fields["from"] = StrictCharField(
            required=False,
            allow_blank=True,
            max_length=200,
            help_text="Slug of the article whose wall sent the reader (attribution).",
        )


class SubscriptionStateSerializer(serializers.Serializer[Any]):
    status = serializers.CharField()
    status_display = serializers.CharField()
    plan = serializers.CharField(allow_null=True)
    trial_ends_at = serializers.DateTimeField(allow_null=True)
    trial_days_left = serializers.IntegerField(allow_null=True)
    current_period_end = serializers.DateTimeField(allow_null=True)
    cancel_at_period_end = serializers.BooleanField()
    billed_by_stripe = serializers.BooleanField()
    can_subscribe = serializers.BooleanField()


class UserSerializer(serializers.Serializer[Any]):
    """The contract's `user`: `{email, subscription: {…}, entitled}` (plus extras)."""

    email = serializers.EmailField()
    subscription = SubscriptionStateSerializer()
    entitled = serializers.BooleanField()
    entitlement_reason = serializers.CharField()
    email_verified = serializers.BooleanField()


class TokenUserSerializer(serializers.Serializer[Any]):
    token = serializers.CharField()
    user = UserSerializer()
