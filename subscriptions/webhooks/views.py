"""POST /webhooks/stripe/: verify, store once, wake the drain after commit, answer 200.

A store that fails for want of the database answers 503: Stripe delivers again later."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from ..billing.stripe_client import WebhookPayloadError, WebhookSignatureError, verify_webhook
from ..models import StripeEventStatus
from ..services.stripe_events import stripe_event_store, stripe_events_wake

logger = logging.getLogger(__name__)


def _error(detail: str, code: str, status: int) -> JsonResponse:
    return JsonResponse({"detail": detail, "code": code}, status=status)


@csrf_exempt
def stripe_webhook(request: HttpRequest) -> JsonResponse:
    if request.method != "POST":
        not_allowed = _error("Method not allowed.", "method_not_allowed", 405)
        not_allowed["Allow"] = "POST"
        return not_allowed
    secret = settings.STRIPE_WEBHOOK_SECRET
    if not secret:
        return _error("billing is not configured", "billing_not_configured", 503)
    signature = request.headers.get("Stripe-Signature", "")
    if not signature:
        return _error("Missing Stripe-Signature header.", "signature_missing", 400)
    try:
        event = verify_webhook(payload=request.body, signature=signature, secret=secret)
    except WebhookSignatureError:
        return _error("Invalid Stripe signature or payload.", "signature_invalid", 400)
    except WebhookPayloadError as exc:
        return _error(str(exc), "payload_invalid", 400)
    try:
        stored = stripe_event_store(event=event, payload=request.body.decode())
    except (OperationalError, InterfaceError) as exc:
        logger.warning("stripe event %s not stored, the sender will retry: %s", event["id"], exc)
        return _error("The event could not be stored; retry later.", "store_unavailable", 503)
    if stored is None:
        return JsonResponse({"received": True, "duplicate": True})
    if stored.status == StripeEventStatus.PENDING:
        # The stored row is the outbox: a lost wake leaves it pending for the sweep.
        transaction.on_commit(stripe_events_wake, robust=True)
    return JsonResponse({"received": True})
