"""Stripe webhook payloads in today's shape, signed the way Stripe signs them.

`event(...)` builds an event; `post_event(client, event)` serializes it once, signs the
exact bytes with `stripe.WebhookSignature.generate_signature_header` and POSTs them.
"""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

import stripe
from django.test import Client
from django.test.client import Client as _ClientT

WEBHOOK_SECRET = "whsec_test_masthead_0123456789"
API_VERSION = "2025-10-29.clover"
_ids = itertools.count(1)


def _id(prefix: str) -> str:
    return f"{prefix}_test{next(_ids):010d}"


def sign(payload: bytes, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    return stripe.WebhookSignature.generate_signature_header(
        payload.decode("utf-8"), secret, timestamp=timestamp or int(time.time())
    )


def event(
    type: str,
    obj: dict[str, Any],
    *,
    created: int,
    previous_attributes: dict[str, Any] | None = None,
    id: str | None = None,
) -> dict[str, Any]:
    data: dict[str, Any] = {"object": obj}
    if previous_attributes is not None:
        data["previous_attributes"] = previous_attributes
    return {
        "id": id or _id("evt"),
        "object": "event",
        "api_version": API_VERSION,
        "created": created,
        "data": data,
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": type,
    }


def subscription(
    *,
    id: str,
    customer: str,
    status: str,
    price: str = "price_monthly",
    period_start: int,
    period_end: int,
    trial_end: int | None = None,
    cancel_at_period_end: bool = False,
    user_id: int | None = None,
) -> dict[str, Any]:
    """A subscription as today's API sends it: periods live on the items."""
    return {
        "id": id,
        "object": "subscription",
        "customer": customer,
        "status": status,
        "cancel_at_period_end": cancel_at_period_end,
        "cancel_at": period_end if cancel_at_period_end else None,
        "canceled_at": None,
        "created": period_start,
        "trial_start": period_start if trial_end else None,
        "trial_end": trial_end,
        "default_payment_method": None,
        "latest_invoice": None,
        "livemode": False,
        "metadata": {"user_id": str(user_id)} if user_id else {},
        "items": {
            "object": "list",
            "has_more": False,
            "data": [
                {
                    "id": f"si_{id}",
                    "object": "subscription_item",
                    "current_period_start": period_start,
                    "current_period_end": period_end,
                    "quantity": 1,
                    "price": {
                        "id": price,
                        "object": "price",
                        "currency": "gbp",
                        "unit_amount": 999,
                        "recurring": {"interval": "month", "interval_count": 1},
                    },
                }
            ],
        },
    }


def invoice(
    *,
    subscription: str,
    customer: str,
    status: str,
    period_start: int,
    period_end: int,
    attempt_count: int = 1,
    id: str | None = None,
    price: str = "price_monthly",
) -> dict[str, Any]:
    """An invoice as today's API sends it: the subscription is under `parent`."""
    return {
        "id": id or _id("in"),
        "object": "invoice",
        "customer": customer,
        "status": status,
        "amount_due": 999,
        "amount_paid": 999 if status == "paid" else 0,
        "attempt_count": attempt_count,
        "billing_reason": "subscription_cycle",
        "currency": "gbp",
        "parent": {
            "type": "subscription_details",
            "quote_details": None,
            "subscription_details": {"metadata": {}, "subscription": subscription},
        },
        "lines": {
            "object": "list",
            "has_more": False,
            "data": [
                {
                    "id": _id("il"),
                    "object": "line_item",
                    "period": {"start": period_start, "end": period_end},
                    "pricing": {
                        "type": "price_details",
                        "price_details": {"price": price, "product": "prod_masthead"},
                        "unit_amount_decimal": "999",
                    },
                }
            ],
        },
    }


def checkout_session(
    *, customer: str, subscription: str | None, client_reference_id: str
) -> dict[str, Any]:
    return {
        "id": _id("cs"),
        "object": "checkout.session",
        "mode": "subscription",
        "status": "complete",
        "payment_status": "paid",
        "customer": customer,
        "subscription": subscription,
        "client_reference_id": client_reference_id,
        "metadata": {},
    }


def post_event(
    client: Client | _ClientT,
    evt: dict[str, Any],
    *,
    secret: str = WEBHOOK_SECRET,
    timestamp: int | None = None,
) -> Any:
    body = json.dumps(evt).encode()
    return client.post(
        "/webhooks/stripe/",
        data=body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign(body, secret=secret, timestamp=timestamp),
    )
