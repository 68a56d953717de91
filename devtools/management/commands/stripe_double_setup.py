"""`make run` without STRIPE_SECRET_KEY: wire the local Stripe double to this site."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from subscriptions.models import Plan


class Command(BaseCommand):
    help = (
        "Register our webhook and our Plans' Prices in the local Stripe double, and copy "
        "into it the customers, subscriptions and paid invoices our database knows."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        from devtools.stripe_double import double_mirror, double_setup
        from devtools.stripe_mirror import billing_known_to_site

        if settings.STRIPE_SECRET_KEY or not settings.STRIPE_API_BASE:
            raise CommandError("Only for the local double: set STRIPE_API_BASE, no key.")
        if not settings.STRIPE_WEBHOOK_SECRET:
            raise CommandError("Set STRIPE_WEBHOOK_SECRET.")
        prices = [
            {
                "id": plan.stripe_price_id,
                "unit_amount": plan.amount,
                "currency": plan.currency,
                "recurring": {"interval": plan.interval},
                "product_data": {"name": plan.name},
            }
            for plan in Plan.objects.filter(is_active=True, stripe_price_id__isnull=False)
        ]
        double_setup(
            api_base=settings.STRIPE_API_BASE,
            webhook_url=settings.SITE_URL.rstrip("/") + "/webhooks/stripe/",
            secret=settings.STRIPE_WEBHOOK_SECRET,
            prices=prices,
        )
        # The double starts empty: give it back the customers, subscriptions and paid
        # invoices our database knows (the demo's, and any checkout of an earlier run).
        made = double_mirror(api_base=settings.STRIPE_API_BASE, known=billing_known_to_site())
        self.stdout.write(
            f"Stripe double at {settings.STRIPE_API_BASE}: {len(prices)} prices, "
            "webhooks to this site (TEST MODE); from our database, "
            f"{made['customers']} customers, {made['subscriptions']} subscriptions, "
            f"{made['invoices']} invoices copied."
        )
