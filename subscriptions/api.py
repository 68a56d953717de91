"""The billing API (/api/v1/): thin views over the billing services."""

from __future__ import annotations

import logging
from typing import Any, cast

from drf_spectacular.utils import extend_schema
from rest_framework import generics
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from accounts.selectors import account_summary
from accounts.serializers import UserSerializer
from config.exceptions import ApplicationError
from config.schema import error_responses

from .billing.stripe_client import BillingError, TemporaryBillingError
from .models import Plan
from .serializers import (
    CheckoutRequestSerializer,
    PlanSerializer,
    UrlSerializer,
)
from .services import cancellation, checkout, customers

logger = logging.getLogger(__name__)


class PlanListView(generics.ListAPIView[Plan]):
    serializer_class = PlanSerializer
    pagination_class = None

    def get_queryset(self) -> Any:
        return Plan.objects.filter(is_active=True).order_by("amount", "code")


class BillingView(APIView):
    """Stripe's refusals become clean API errors: 503 when Stripe is unreachable (try
    again), 502 when it refused the call."""

    permission_classes = [IsAuthenticated]

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, TemporaryBillingError):
            exc = ApplicationError(
                "The payment service is unavailable; please try again.",
                code="billing_unavailable",
                status_code=503,
            )
        elif isinstance(exc, BillingError):
            logger.warning("Stripe refused a call: %s", exc)
            exc = ApplicationError(
                "The payment service refused the request.", code="billing_error", status_code=502
            )
        return super().handle_exception(exc)


class CheckoutView(BillingView):
    @extend_schema(
        request=CheckoutRequestSerializer,
        responses={200: UrlSerializer, **error_responses(409, 502, 503)},
    )
    def post(self, request: Request) -> Response:
        data = CheckoutRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        url = checkout.checkout_start(
            user=cast(User, request.user), plan_code=data.validated_data["plan"]
        )
        return Response({"url": url})


class PortalView(BillingView):
    @extend_schema(request=None, responses={200: UrlSerializer, **error_responses(409, 502, 503)})
    def post(self, request: Request) -> Response:
        return Response({"url": customers.portal_start(user=cast(User, request.user))})


class CancelView(BillingView):
    @extend_schema(request=None, responses={200: UserSerializer, **error_responses(409, 502, 503)})
    def post(self, request: Request) -> Response:
        user = cast(User, request.user)
        cancellation.subscription_cancel(user=user)
        return Response(UserSerializer(account_summary(user=user)).data)


class ResumeView(BillingView):
    @extend_schema(request=None, responses={200: UserSerializer, **error_responses(409, 502, 503)})
    def post(self, request: Request) -> Response:
        user = cast(User, request.user)
        cancellation.subscription_resume(user=user)
        return Response(UserSerializer(account_summary(user=user)).data)
