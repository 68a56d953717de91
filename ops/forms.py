"""The confirmation forms of the dashboard's actions: every one asks for a reason and
carries a once-only key (a double submit does one thing)."""

from __future__ import annotations

import re
import uuid
from decimal import Decimal
from typing import Any

from django import forms

from subscriptions.money import decimal_places, format_money, minor_units
from subscriptions.services.staff_actions import MAX_TRIAL_EXTENSION_DAYS

# What staff may type for an amount: digits, a point and decimals (a sign only to be told
# it must be more than zero). No exponents, separators or symbols.
AMOUNT = re.compile(r"^-?\d{1,12}(?:\.\d{1,12})?$")


class ConfirmForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        help_text="Why: kept in the audit log with your name.",
    )
    key = forms.CharField(
        widget=forms.HiddenInput,
        max_length=64,
        error_messages={"required": "This form has expired: open it again."},
    )

    @staticmethod
    def fresh_key() -> str:
        return uuid.uuid4().hex


class ExtendTrialForm(ConfirmForm):
    days = forms.IntegerField(min_value=1, max_value=MAX_TRIAL_EXTENSION_DAYS, initial=7)
    field_order = ["days", "reason", "key"]


class ComplimentaryForm(ConfirmForm):
    until = forms.DateField(
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="Full access through the end of this day (UTC). Format YYYY-MM-DD.",
    )
    field_order = ["until", "reason", "key"]


class CancelForm(ConfirmForm):
    """Now, or at the end of the paid period: that choice only for a subscription billed
    in Stripe and not already set to end (`only_now`: why not, shown under the field)."""

    when = forms.ChoiceField(
        choices=[("period_end", "At the end of the paid period"), ("now", "Now")],
        widget=forms.RadioSelect,
        initial="period_end",
    )
    field_order = ["when", "reason", "key"]

    def __init__(self, *args: Any, only_now: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if only_now:
            field = self.fields["when"]
            field.choices = [("now", "Now")]  # type: ignore[attr-defined]
            field.initial = "now"
            field.help_text = f"Not at the end of a period: {only_now}."
            field.error_messages["invalid_choice"] = f"Only now: {only_now}."


class RefundForm(ConfirmForm):
    """The amount in the payment's major units ("12.50"), checked and converted exactly to
    the minor units Stripe and the audit keep; empty refunds all that is left."""

    amount = forms.CharField(required=False)
    field_order = ["amount", "reason", "key"]

    def __init__(self, *args: Any, currency: str, left: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.currency, self.left = currency, left
        code = currency.upper()
        self.example = "12.50" if decimal_places(currency) else "1200"
        field = self.fields["amount"]
        field.label = f"Amount ({code})"
        field.help_text = (
            f"In {code}, like {self.example}: {self.money(left)} is left of the last payment."
            " Empty: refund all that is left."
        )
        field.widget.attrs.update(
            {"inputmode": "decimal", "autocomplete": "off", "placeholder": self.example}
        )

    def money(self, amount: int) -> str:
        return format_money(amount=amount, currency=self.currency)

    def clean_amount(self) -> int | None:
        text = self.cleaned_data["amount"]
        if not text:
            return None
        if not AMOUNT.match(text):
            raise forms.ValidationError(
                f"Type the amount in {self.currency.upper()}, like {self.example}."
            )
        value = Decimal(text)
        if value <= 0:
            raise forms.ValidationError("The amount must be more than zero.")
        try:
            amount = minor_units(value, currency=self.currency)
        except ValueError:
            places = decimal_places(self.currency)
            raise forms.ValidationError(f"Use at most {places} decimal places.") from None
        if amount > self.left:
            raise forms.ValidationError(
                f"That is more than is left of the last payment ({self.money(self.left)})."
            )
        return amount


class ResendEmailForm(ConfirmForm):
    notification = forms.TypedChoiceField(coerce=int, choices=[])
    field_order = ["notification", "reason", "key"]

    def __init__(self, *args: object, owed: list[tuple[int, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["notification"].choices = owed  # type: ignore[attr-defined]
