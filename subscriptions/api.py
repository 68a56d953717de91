"""The billing API (/api/v1/): thin views over the billing services."""

from __future__ import annotations

from typing import Any, cast

from drf_spectacular.utils import extend_schema
from rest_framework import generics
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User

from .models import Plan
from .serializers import (
    CheckoutRequestSerializer,
    PlanSerializer,
    UrlSerializer,
    UserStateSerializer,
)
from .services import billing


class PlanListView(generics.ListAPIView[Plan]):
    serializer_class = PlanSerializer
    pagination_class = None

    def get_queryset(self) -> Any:
        return Plan.objects.filter(is_active=True).order_by("amount", "code")


class CheckoutView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=CheckoutRequestSerializer, responses=UrlSerializer)
    def post(self, request: Request) -> Response:
        data = CheckoutRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        url = billing.checkout_start(
            user=cast(User, request.user), plan_code=data.validated_data["plan"]
        )
        return Response({"url": url})


class PortalView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses=UrlSerializer)
    def post(self, request: Request) -> Response:
        return Response({"url": billing.portal_start(user=cast(User, request.user))})


class CancelView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses=UserStateSerializer)
    def post(self, request: Request) -> Response:
        user = cast(User, request.user)
        billing.subscription_cancel(user=user)
        return Response(UserStateSerializer(user).data)


class ResumeView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses=UserStateSerializer)
    def post(self, request: Request) -> Response:
        user = cast(User, request.user)
        billing.subscription_resume(user=user)
        return Response(UserStateSerializer(user).data)
