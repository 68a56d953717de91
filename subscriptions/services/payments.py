"""Money received: each paid invoice recorded once, for the publishers' revenue pool
(which `statements` splits)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from config.exceptions import ApplicationError

from ..billing.stripe_client import stripe_client
from ..models import BillingCustomer, Payment
from ..money import format_money


def payment_record(*, invoice: Mapping[str, Any], event_created: datetime) -> bool:
    """Record money received (a paid invoice) once, for the publishers' revenue pool.
    Returns False for a duplicate or a zero invoice (e.g. the trial's)."""
    amount = int(invoice.get("amount_paid") or 0)
    invoice_id = invoice.get("id")
    if amount <= 0 or not invoice_id:
        return False
    paid = (invoice.get("status_transitions") or {}).get("paid_at")
    paid_at = datetime.fromtimestamp(int(paid), tz=UTC) if paid else event_created
    customer = BillingCustomer.objects.filter(
        stripe_customer_id=str(invoice.get("customer") or "")
    ).first()
    _, created = Payment.objects.get_or_create(
        stripe_invoice_id=str(invoice_id),
        defaults={
            "user_id": customer.user_id if customer else None,
            "amount": amount,
            "currency": str(invoice.get("currency") or "gbp"),
            "paid_at": paid_at,
        },
    )
    return created


def payment_refund(
    *, user_id: int, amount: int | None, idempotency_key: str
) -> tuple[Payment, int, str]:
    """Refund the reader's last payment through Stripe: `amount` minor units, or all that
    is left of it. Call inside a transaction: the row is locked, Stripe is asked first and
    our record changes only when Stripe agreed. Returns (payment, refunded now, refund id)."""
    payment = (
        Payment.objects.select_for_update()
        .filter(user_id=user_id)
        .order_by("-paid_at", "-id")
        .first()
    )
    if payment is None:
        raise ApplicationError("This reader has no payment to refund.", code="no_payment")
    left = payment.amount - payment.refunded
    if left <= 0:
        raise ApplicationError("The last payment is already fully refunded.", code="refunded")
    refund = left if amount is None else amount
    if refund <= 0:
        raise ApplicationError("The amount must be a positive whole number.", code="bad_amount")
    if refund > left:
        raise ApplicationError(
            "That is more than is left of the last payment"
            f" ({format_money(amount=left, currency=payment.currency)}).",
            code="refund_too_large",
        )
    refund_id = stripe_client().refund_invoice(
        invoice_id=payment.stripe_invoice_id, amount=refund, idempotency_key=idempotency_key
    )
    payment.refunded += refund
    payment.save(update_fields=["refunded"])
    return payment, refund, refund_id
