"""The billing API (/api/v1/): thin views over the billing services. Cancel and resume
answer with the reader's `user` shape, which is the accounts app's: they live there
(`accounts.api`), on the same paths."""

from __future__ import annotations

from typing import Any, cast

from drf_spectacular.utils import extend_schema
from rest_framework import generics
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.schema import error_responses

from .models import Plan
from .readers import Reader
from .serializers import (
    CheckoutRequestSerializer,
    PlanSerializer,
    UrlSerializer,
)
from .services import checkout, customers
from .services.billing_errors import billing_error_for_reader


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
        return super().handle_exception(billing_error_for_reader(exc))


class CheckoutView(BillingView):
    @extend_schema(
        request=CheckoutRequestSerializer,
        responses={200: UrlSerializer, **error_responses(409, 502, 503)},
    )
    def post(self, request: Request) -> Response:
        data = CheckoutRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        url = checkout.checkout_start(
            user=cast(Reader, request.user), plan_code=data.validated_data["plan"]
        )
        return Response({"url": url})


class PortalView(BillingView):
    @extend_schema(request=None, responses={200: UrlSerializer, **error_responses(409, 502, 503)})
    def post(self, request: Request) -> Response:
        return Response({"url": customers.portal_start(user=cast(Reader, request.user))})
