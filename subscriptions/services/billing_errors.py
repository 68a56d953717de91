"""Stripe's refusals in the reader's words, one wording for the billing API and pages:
503 when the payment service is unreachable (try again), 502 when it refused the call."""

from __future__ import annotations

import logging

from rest_framework import status as http

from config.exceptions import ApplicationError

from ..billing.stripe_client import BillingError, TemporaryBillingError

logger = logging.getLogger(__name__)

UNAVAILABLE = "The payment service is unavailable; please try again."
REFUSED = "The payment service refused the request."


def billing_error_for_reader(exc: Exception) -> Exception:
    """A billing error as the `ApplicationError` a reader is shown; any other exception
    as it is (the caller re-raises or handles it)."""
    if isinstance(exc, TemporaryBillingError):
        return ApplicationError(
            UNAVAILABLE, code="billing_unavailable", status_code=http.HTTP_503_SERVICE_UNAVAILABLE
        )
    if isinstance(exc, BillingError):
        logger.warning("Stripe refused a call: %s", exc)
        return ApplicationError(
            REFUSED, code="billing_error", status_code=http.HTTP_502_BAD_GATEWAY
        )
    return exc
