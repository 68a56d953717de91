"""Money: integer minor units plus an ISO 4217 currency code, as Stripe keeps them.
One formatter for every page and email; amounts in different currencies are never added."""

from __future__ import annotations

# Stripe's zero-decimal currencies: the amount is already in whole units.
ZERO_DECIMAL = frozenset(
    {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv"}
    | {"xaf", "xof", "xpf"}
)


def format_money(*, amount: int, currency: str) -> str:
    """`999, "gbp"` -> "9.99 GBP"; `1200, "jpy"` -> "1,200 JPY"."""
    code = currency.upper()
    sign = "-" if amount < 0 else ""
    if currency.lower() in ZERO_DECIMAL:
        return f"{sign}{abs(amount):,} {code}"
    units, cents = divmod(abs(amount), 100)
    return f"{sign}{units:,}.{cents:02d} {code}"
