"""Money typed in major units becomes exact minor units (never through a float)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from subscriptions.money import minor_units


@pytest.mark.parametrize(
    "amount, currency, minor",
    [
        ("12.50", "gbp", 1250),
        ("12.5", "GBP", 1250),
        ("0.29", "gbp", 29),  # float(0.29) * 100 == 28.999999999999996
        ("1.01", "eur", 101),
        ("12", "usd", 1200),
        ("1200", "jpy", 1200),  # zero-decimal: already whole units
    ],
)
def test_minor_units_are_exact(amount, currency, minor):
    assert minor_units(Decimal(amount), currency=currency) == minor


@pytest.mark.parametrize("amount, currency", [("1.505", "gbp"), ("12.5", "jpy")])
def test_minor_units_refuse_what_the_currency_cannot_hold(amount, currency):
    with pytest.raises(ValueError):
        minor_units(Decimal(amount), currency=currency)
