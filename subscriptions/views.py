"""Server-rendered billing pages: Checkout's return pages and the portal redirect."""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from config.exceptions import ApplicationError
from config.links import on_site_path

from .billing.stripe_client import billing_is_test_mode
from .readers import Reader
from .serializers import CheckoutRequestSerializer
from .services.billing_errors import billing_error_for_reader
from .services.checkout import checkout_return, checkout_start
from .services.customers import portal_start
from .vocabulary import CheckoutReturn

# The session's note of the page a reader started Checkout from.
AFTER_CHECKOUT = "billing_after_checkout"


@login_required
@never_cache
def checkout_success(request: HttpRequest) -> HttpResponse:
    """Checkout's return page: what is true of the reader's session (services.checkout
    .checkout_return), or a plain 4xx/503 page for one that is not theirs or unusable."""
    user = cast(Reader, request.user)
    context: dict[str, object] = {"test_mode": billing_is_test_mode()}
    try:
        outcome = checkout_return(user=user, session_id=request.GET.get("session_id", ""))
    except ApplicationError as error:
        context.update(message=error.message, code=error.code)
        return render(
            request,
            "subscriptions/checkout_return_error.html",
            context,
            status=error.status_code,
        )
    context.update(
        outcome=outcome, Outcome=CheckoutReturn, back_to=request.session.get(AFTER_CHECKOUT)
    )
    return render(request, "subscriptions/checkout_success.html", context)


def checkout_cancel(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "subscriptions/checkout_cancel.html",
        {"test_mode": billing_is_test_mode(), "back_to": request.session.get(AFTER_CHECKOUT)},
    )


def _to_stripe(request: HttpRequest, start: Callable[[], str]) -> HttpResponse:
    """Redirect (303) to a Stripe page, or explain in plain words why not."""
    try:
        url = start()
    except Exception as exc:
        error = billing_error_for_reader(exc)
        if not isinstance(error, ApplicationError):
            raise
        message, status = error.message, error.status_code
    else:
        return HttpResponseRedirect(url, status=303)
    return render(
        request, "subscriptions/billing_unavailable.html", {"message": message}, status=status
    )


@login_required
@require_POST
def checkout(request: HttpRequest) -> HttpResponse:
    """The account page's plan forms: start Stripe Checkout."""
    user = cast(Reader, request.user)
    # The API's rule for a plan code: one that breaks it (a NUL, which PostgreSQL refuses
    # in the lookup) names no plan, so the service answers "Unknown plan.".
    form = CheckoutRequestSerializer(data=request.POST)
    plan = form.validated_data["plan"] if form.is_valid() else ""
    # Where the reader was (the wall's article): the thank-you page leads back there.
    request.session[AFTER_CHECKOUT] = on_site_path(request.POST.get("next"))
    return _to_stripe(request, lambda: checkout_start(user=user, plan_code=plan))


@login_required
@require_POST
def portal(request: HttpRequest) -> HttpResponse:
    """The account page's "Manage billing" button: open the Stripe Customer Portal."""
    user = cast(Reader, request.user)
    return _to_stripe(request, lambda: portal_start(user=user))


@login_required
def manage(request: HttpRequest) -> HttpResponse:
    """The link in billing emails: open the reader's Stripe Customer Portal."""
    user = cast(Reader, request.user)
    return _to_stripe(request, lambda: portal_start(user=user))
