"""Money received: each paid invoice recorded once, for the publishers' revenue pool
(which `statements` splits)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from ..models import BillingCustomer, Payment


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
