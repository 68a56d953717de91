"""`{% load money %}`: `{{ amount|money:currency }}` shows integer minor units as money
("47727"|money:"gbp" -> "477.27 GBP"), through the one formatter in subscriptions.money.
Without a currency it uses the site's (settings.CURRENCY). Not a number: shown as is."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template
from django.conf import settings

from subscriptions.money import format_money

register = template.Library()


@register.filter(name="money")
def money(amount: Any, currency: str = "") -> Any:
    if isinstance(amount, bool) or not isinstance(amount, int | float | Decimal):
        return amount
    return format_money(amount=round(amount), currency=currency or settings.CURRENCY)


@register.filter(name="money_change")
def money_change(amount: Any, currency: str = "") -> Any:
    """A movement: like `money`, with a "+" in front of a gain ("+12.00 GBP")."""
    shown = money(amount, currency)
    if shown is not amount and amount > 0:
        return f"+{shown}"
    return shown
