"""API auth (/api/v1/auth/…, /api/v1/me/): knox tokens, throttled, {detail, code} errors;
and the billing calls that answer with the `user` shape (/api/v1/billing/cancel/, resume/)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import authenticate
from django.contrib.auth import logout as session_logout
from drf_spectacular.utils import extend_schema
from knox.models import AuthToken
from rest_framework import exceptions, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.exceptions import ApplicationError
from config.schema import error_responses
from subscriptions import paywall
from subscriptions.services import cancellation
from subscriptions.services.billing_errors import billing_error_for_reader

from . import limits, selectors, services
from .models import User
from .serializers import (
    CredentialsSerializer,
    PasswordSerializer,
    SignupSerializer,
    TokenUserSerializer,
    UserSerializer,
)
from .throttling import SignupThrottle

BAD_CREDENTIALS = "That email and password do not match an account."


def _user_payload(user: User) -> dict[str, Any]:
    return dict(UserSerializer(selectors.account_summary(user=user)).data)


class SignupView(APIView):
    """Create an account and start the free trial. 201 `{token, user}`."""

    authentication_classes: list[type] = []
    permission_classes: list[type] = []
    throttle_classes = [SignupThrottle]

    @extend_schema(request=SignupSerializer, responses={201: TokenUserSerializer})
    def post(self, request: Request) -> Response:
        data = SignupSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.account_signup(
            email=data.validated_data["email"],
            password=data.validated_data["password"],
            from_article_slug=data.validated_data.get("from") or None,
            reader_key=paywall.cookie_reader_key(request),
        )
        token = services.api_token_create(user=user)
        paywall.adopt_anonymous_meter(request=request, user_id=user.pk)
        services.verification_email_send(request=request._request, user=user)
        return Response(
            {"token": token, "user": _user_payload(user)}, status=status.HTTP_201_CREATED
        )


class LoginView(APIView):
    """Exchange email and password for a token. The same 400 for an unknown email and a
    wrong password; failures are limited per email and per client address (429)."""

    authentication_classes: list[type] = []
    permission_classes: list[type] = []

    @extend_schema(
        request=CredentialsSerializer,
        responses={200: TokenUserSerializer, **error_responses(429)},
    )
    def post(self, request: Request) -> Response:
        data = CredentialsSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        email = data.validated_data["email"]
        try:
            attempt = limits.signin_begin(email=email, address=limits.client_address(request))
        except limits.Throttled as exc:
            raise exceptions.Throttled(wait=exc.wait, detail=limits.SIGNIN_THROTTLED) from None
        user = authenticate(
            request._request, username=email, password=data.validated_data["password"]
        )
        if not isinstance(user, User):
            raise ApplicationError(BAD_CREDENTIALS, code="invalid_credentials")
        attempt.succeeded()
        token = services.api_token_create(user=user)
        paywall.adopt_anonymous_meter(request=request, user_id=user.pk)
        return Response({"token": token, "user": _user_payload(user)})


class LogoutView(APIView):
    """Revoke the token this call was made with (204); a web session is ended too."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={204: None})
    def post(self, request: Request) -> Response:
        if isinstance(request.auth, AuthToken):
            services.api_token_revoke(token=request.auth)
        else:
            session_logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=UserSerializer)
    def get(self, request: Request) -> Response:
        assert isinstance(request.user, User)
        return Response(_user_payload(request.user))

    @extend_schema(request=PasswordSerializer, responses={204: None})
    def delete(self, request: Request) -> Response:
        """Delete my account (password required). Personal data goes; the subscription
        record stays anonymised; no second trial for the same person later."""
        assert isinstance(request.user, User)
        data = PasswordSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.account_delete(user=request.user, password=data.validated_data["password"])
        session_logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class SubscriptionChangeView(APIView):
    """A change to the reader's own subscription, answered with their `user`. Stripe's
    refusals become clean API errors: 503 when it is unreachable, 502 when it refused."""

    permission_classes = [IsAuthenticated]

    def handle_exception(self, exc: Exception) -> Response:
        return super().handle_exception(billing_error_for_reader(exc))


class CancelView(SubscriptionChangeView):
    """Cancel at period end (a trial without Stripe ends at once)."""

    @extend_schema(request=None, responses={200: UserSerializer, **error_responses(409, 502, 503)})
    def post(self, request: Request) -> Response:
        assert isinstance(request.user, User)
        cancellation.subscription_cancel(user=request.user)
        return Response(_user_payload(request.user))


class ResumeView(SubscriptionChangeView):
    """Undo a cancel at period end, before the period ends."""

    @extend_schema(request=None, responses={200: UserSerializer, **error_responses(409, 502, 503)})
    def post(self, request: Request) -> Response:
        assert isinstance(request.user, User)
        cancellation.subscription_resume(user=request.user)
        return Response(_user_payload(request.user))
