"""Money: integer minor units plus an ISO 4217 currency code, as Stripe keeps them.
One formatter for every page and email; amounts in different currencies are never added."""

from __future__ import annotations

from decimal import Decimal

# Stripe's zero-decimal currencies: the amount is already in whole units.
ZERO_DECIMAL = frozenset(
    {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv"}
    | {"xaf", "xof", "xpf"}
)


def decimal_places(currency: str) -> int:
    """How many decimals the currency's major unit has: 2, or 0 for zero-decimal ones."""
    return 0 if currency.lower() in ZERO_DECIMAL else 2


def minor_units(amount: Decimal, *, currency: str) -> int:
    """`Decimal("12.50"), "gbp"` -> 1250, exactly (no float on the way). ValueError for an
    amount that is not finite or has more decimals than the currency."""
    if not amount.is_finite():
        raise ValueError(f"not an amount: {amount}")
    scaled = amount.scaleb(decimal_places(currency))
    if scaled != scaled.to_integral_value():
        raise ValueError(f"more than {decimal_places(currency)} decimal places: {amount}")
    return int(scaled)


def format_money(*, amount: int, currency: str) -> str:
    """`999, "gbp"` -> "9.99 GBP"; `1200, "jpy"` -> "1,200 JPY"."""
    code = currency.upper()
    sign = "-" if amount < 0 else ""
    if currency.lower() in ZERO_DECIMAL:
        return f"{sign}{abs(amount):,} {code}"
    units, cents = divmod(abs(amount), 100)
    return f"{sign}{units:,}.{cents:02d} {code}"
