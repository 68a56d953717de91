"""Server-rendered billing pages: Checkout's return pages and the portal redirect."""

from __future__ import annotations

from typing import cast

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render

from accounts.models import User
from config.exceptions import ApplicationError

from .billing.stripe_client import billing_is_test_mode
from .services import billing


def checkout_success(request: HttpRequest) -> HttpResponse:
    return render(
        request, "subscriptions/checkout_success.html", {"test_mode": billing_is_test_mode()}
    )


def checkout_cancel(request: HttpRequest) -> HttpResponse:
    return render(
        request, "subscriptions/checkout_cancel.html", {"test_mode": billing_is_test_mode()}
    )


@login_required
def manage(request: HttpRequest) -> HttpResponse:
    """The link in billing emails: open the reader's Stripe Customer Portal."""
    try:
        url = billing.portal_start(user=cast(User, request.user))
    except ApplicationError as exc:
        return render(
            request,
            "subscriptions/billing_unavailable.html",
            {"message": exc.message},
            status=exc.status_code,
        )
    return HttpResponseRedirect(url)
