"""The one wrapper around Stripe: the only module of Masthead that imports `stripe`.

It is built from settings, sends a reproducible idempotency key with every create/update,
turns `StripeError` into our own `TemporaryBillingError` (retry later) or
`PermanentBillingError` (retrying will not help), and hands back plain dicts so that no
other module touches Stripe's types. Tests point it at the Stripe double through
`STRIPE_API_BASE`; webhook payloads are verified here too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar

import stripe
from django.conf import settings
from rest_framework import status

from config.exceptions import ApplicationError
from config.parsers import json_loads_bounded, json_storable

from ..models import StripeEvent

# The key the SDK gets when STRIPE_API_BASE points at the local double and no key is set.
DOUBLE_API_KEY = "sk_test_masthead_local_double"
SIGNATURE_TOLERANCE_SECONDS = 300

T = TypeVar("T")


class BillingError(Exception):
    """Stripe refused or failed a call."""


class TemporaryBillingError(BillingError):
    """Network trouble, rate limits, Stripe's 5xx: try again later."""


class PermanentBillingError(BillingError):
    """Bad request, card declined, auth: the same call will fail again."""


class BillingObjectMissing(PermanentBillingError):
    """Stripe has no such object (its 404 `resource_missing`)."""


class WebhookSignatureError(Exception):
    """The webhook body or its Stripe-Signature header does not verify."""


class WebhookPayloadError(Exception):
    """The body is signed by Stripe but is not an event we can store."""


# The event's keys are stored in columns of these widths (StripeEvent.stripe_id, .type).
_EVENT_KEY_WIDTHS = {
    "id": StripeEvent._meta.get_field("stripe_id").max_length or 0,
    "type": StripeEvent._meta.get_field("type").max_length or 0,
}

# Stripe's `created` is Unix seconds; anything outside years 1970-9999 is not a time
# (10**20 raised OverflowError, -10**15 ValueError when it became a datetime).
_LATEST_TIMESTAMP = 253402300799


def billing_not_configured() -> ApplicationError:
    return ApplicationError(
        "billing is not configured",
        code="billing_not_configured",
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
    )


def billing_is_configured() -> bool:
    """A real key, or the local-double mode (STRIPE_API_BASE without a key)."""
    return bool(settings.STRIPE_SECRET_KEY or settings.STRIPE_API_BASE)


def billing_is_test_mode() -> bool:
    """Pages say TEST MODE when no live key is in use."""
    key = settings.STRIPE_SECRET_KEY or ""
    return not key.startswith("sk_live_")


def _call(func: Callable[[], T]) -> T:
    try:
        return func()
    except (stripe.APIConnectionError, stripe.RateLimitError) as exc:
        raise TemporaryBillingError(str(exc)) from exc
    except stripe.APIError as exc:
        raise TemporaryBillingError(str(exc)) from exc
    except stripe.StripeError as exc:
        if exc.http_status is not None and exc.http_status >= 500:
            raise TemporaryBillingError(str(exc)) from exc
        if exc.http_status == 404:
            raise BillingObjectMissing(str(exc)) from exc
        raise PermanentBillingError(str(exc)) from exc


def _plain(obj: Any) -> dict[str, Any]:
    result: dict[str, Any] = obj.to_dict(recursive=True)
    return result


def _id(value: Any) -> str | None:
    """An id from a field that is either an id or an expanded object."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        found = value.get("id")
        return str(found) if found else None
    return str(getattr(value, "id", None) or "") or None


def from_stripe_time(value: int | None) -> datetime | None:
    """Stripe's Unix seconds as an aware datetime (None for none or zero)."""
    return datetime.fromtimestamp(value, tz=UTC) if value else None


def to_stripe_time(value: datetime) -> int:
    return int(value.timestamp())


@dataclass(frozen=True)
class Period:
    start: int | None
    end: int | None


def subscription_period(subscription: Mapping[str, Any]) -> Period:
    """Period fields from today's shape (`items.data[0].current_period_*`) or the old
    2017 shape (`current_period_*` on the subscription) that localstripe answers in."""
    items = (subscription.get("items") or {}).get("data") or []
    first = items[0] if items else {}
    start = first.get("current_period_start") or subscription.get("current_period_start")
    end = first.get("current_period_end") or subscription.get("current_period_end")
    return Period(start=int(start) if start else None, end=int(end) if end else None)


def subscription_price_id(subscription: Mapping[str, Any]) -> str | None:
    """The price (today) or plan (2017 shape) of the first item."""
    items = (subscription.get("items") or {}).get("data") or []
    first = items[0] if items else {}
    for holder in (first.get("price"), first.get("plan"), subscription.get("plan")):
        found = _id(holder)
        if found:
            return found
    return None


def invoice_subscription_id(invoice: Mapping[str, Any]) -> str | None:
    """Today: `parent.subscription_details.subscription`; older: `subscription`."""
    parent = invoice.get("parent") or {}
    details = parent.get("subscription_details") or {}
    return _id(details.get("subscription")) or _id(invoice.get("subscription"))


def invoice_price_id(invoice: Mapping[str, Any]) -> str | None:
    """The price of the invoice's first line: today `pricing.price_details.price`,
    older shapes `price` or `plan` on the line."""
    lines = (invoice.get("lines") or {}).get("data") or []
    for line in lines:
        pricing = line.get("pricing") or {}
        details = pricing.get("price_details") or {}
        for holder in (details.get("price"), line.get("price"), line.get("plan")):
            found = _id(holder)
            if found:
                return found
    return None


def verify_webhook(*, payload: bytes, signature: str, secret: str) -> dict[str, Any]:
    """Verify `Stripe-Signature` on the raw body and return the event as a dict.

    WebhookSignatureError when it does not verify; WebhookPayloadError when it does but
    is not a storable event (not JSON, nested too deeply, fields missing or impossible)."""
    try:
        text = payload.decode("utf-8")
        stripe.WebhookSignature.verify_header(
            text, signature, secret, tolerance=SIGNATURE_TOLERANCE_SECONDS
        )
    except (UnicodeDecodeError, ValueError, stripe.SignatureVerificationError) as exc:
        raise WebhookSignatureError(str(exc) or "invalid payload") from exc
    try:
        event = json_loads_bounded(text)
    except ValueError as exc:
        raise WebhookPayloadError(f"Not a Stripe event: {exc}") from exc
    if not isinstance(event, dict) or not all(
        isinstance(event.get(k), str) and event[k] for k in ("id", "type")
    ):
        raise WebhookPayloadError("Not a Stripe event: `id` and `type` are required.")
    for key, width in _EVENT_KEY_WIDTHS.items():
        if len(event[key]) > width:
            raise WebhookPayloadError(
                f"Not a Stripe event: `{key}` is longer than {width} characters."
            )
    if not json_storable(text, event):
        raise WebhookPayloadError(
            "Not a Stripe event: it holds a NUL character or an unpaired surrogate."
        )
    created = event.get("created")
    if type(created) is not int or not 0 < created <= _LATEST_TIMESTAMP:
        raise WebhookPayloadError("Not a Stripe event: `created` is not a timestamp.")
    if not isinstance(event.get("data"), dict) or not isinstance(event["data"].get("object"), dict):
        raise WebhookPayloadError("Not a Stripe event: `data.object` is required.")
    return event


class StripeClient:
    """The calls Masthead makes to Stripe, each returning plain dicts."""

    def __init__(self, *, api_key: str, api_base: str | None = None) -> None:
        self._stripe = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base} if api_base else {},
            max_network_retries=settings.STRIPE_MAX_NETWORK_RETRIES,
        )

    @classmethod
    def from_settings(cls) -> StripeClient:
        """Raises ApplicationError 503 `billing_not_configured` when there is no key."""
        if not billing_is_configured():
            raise billing_not_configured()
        return cls(
            api_key=settings.STRIPE_SECRET_KEY or DOUBLE_API_KEY,
            api_base=settings.STRIPE_API_BASE,
        )

    # --- customers ---------------------------------------------------------------------
    def customer_create(self, *, email: str, user_id: int, idempotency_key: str) -> str:
        customer = _call(
            lambda: self._stripe.v1.customers.create(
                params={"email": email, "metadata": {"user_id": str(user_id)}},
                options={"idempotency_key": idempotency_key},
            )
        )
        return str(customer.id)

    # --- checkout and portal -----------------------------------------------------------
    def checkout_session_create(
        self, *, params: dict[str, Any], idempotency_key: str
    ) -> dict[str, Any]:
        session = _call(
            lambda: self._stripe.v1.checkout.sessions.create(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": idempotency_key},
            )
        )
        return _plain(session)

    def checkout_session_retrieve(self, session_id: str) -> dict[str, Any]:
        return _plain(_call(lambda: self._stripe.v1.checkout.sessions.retrieve(session_id)))

    def portal_session_create(
        self, *, customer_id: str, return_url: str, idempotency_key: str
    ) -> str:
        session = _call(
            lambda: self._stripe.v1.billing_portal.sessions.create(
                params={"customer": customer_id, "return_url": return_url},
                options={"idempotency_key": idempotency_key},
            )
        )
        return str(session.url)

    # --- subscriptions -----------------------------------------------------------------
    def subscription_retrieve(self, subscription_id: str) -> dict[str, Any]:
        return _plain(_call(lambda: self._stripe.v1.subscriptions.retrieve(subscription_id)))

    def subscription_update(
        self, subscription_id: str, *, params: dict[str, Any], idempotency_key: str
    ) -> dict[str, Any]:
        updated = _call(
            lambda: self._stripe.v1.subscriptions.update(
                subscription_id,
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": idempotency_key},
            )
        )
        return _plain(updated)

    def subscription_cancel(self, subscription_id: str) -> dict[str, Any]:
        """Cancel now (Stripe ends the subscription at once; a repeat is refused by
        Stripe, which the caller sees as a PermanentBillingError)."""
        return _plain(_call(lambda: self._stripe.v1.subscriptions.cancel(subscription_id)))

    def refund_invoice(self, *, invoice_id: str, amount: int, idempotency_key: str) -> str:
        """Refund `amount` of a paid invoice's payment; the refund's id. The payment is
        the invoice's PaymentIntent (older API shape) or its first payment (newer)."""
        invoice = _plain(_call(lambda: self._stripe.v1.invoices.retrieve(invoice_id)))
        params: dict[str, Any] = {"amount": amount}
        payments = ((invoice.get("payments") or {}).get("data") or [{}])[0].get("payment") or {}
        payment_intent = _id(invoice.get("payment_intent")) or _id(payments.get("payment_intent"))
        charge = _id(invoice.get("charge")) or _id(payments.get("charge"))
        if payment_intent:
            params["payment_intent"] = payment_intent
        elif charge:
            params["charge"] = charge
        else:
            raise PermanentBillingError(f"Invoice {invoice_id} has no payment to refund.")
        refund = _call(
            lambda: self._stripe.v1.refunds.create(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": idempotency_key},
            )
        )
        return str(refund.id)

    def subscription_pages(self, *, page_size: int = 100) -> Iterator[list[dict[str, Any]]]:
        """Every Stripe subscription (any status), a page at a time."""
        after: str | None = None
        while True:
            params: dict[str, Any] = {"status": "all", "limit": page_size}
            if after:
                params["starting_after"] = after
            page = _call(partial(self._stripe.v1.subscriptions.list, params=params))  # type: ignore[arg-type]
            items = [_plain(item) for item in page.data]
            if items:
                yield items
            if not page.has_more or not items:
                return
            after = str(items[-1]["id"])

    # --- cards -------------------------------------------------------------------------
    def card_fingerprint(self, *, subscription: Mapping[str, Any]) -> str | None:
        """The fingerprint of the card paying for a subscription, when one is known."""
        pm_id = _id(subscription.get("default_payment_method"))
        if pm_id is None:
            customer_id = _id(subscription.get("customer"))
            if customer_id is None:
                return None
            customer = _plain(_call(lambda: self._stripe.v1.customers.retrieve(customer_id)))
            settings_ = customer.get("invoice_settings") or {}
            pm_id = _id(settings_.get("default_payment_method"))
            if pm_id is None:
                return None
        payment_method = _plain(_call(lambda: self._stripe.v1.payment_methods.retrieve(pm_id)))
        card = payment_method.get("card") or {}
        fingerprint = card.get("fingerprint")
        return str(fingerprint) if fingerprint else None


def stripe_client() -> StripeClient:
    """The configured client, or ApplicationError 503 when billing is not configured."""
    return StripeClient.from_settings()


def stripe_client_or_none() -> StripeClient | None:
    return StripeClient.from_settings() if billing_is_configured() else None
