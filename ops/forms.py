"""The confirmation forms of the dashboard's actions: every one asks for a reason and
carries a once-only key (a double submit does one thing)."""

from __future__ import annotations

import uuid

from django import forms

from subscriptions.services.staff_actions import MAX_TRIAL_EXTENSION_DAYS


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
    when = forms.ChoiceField(
        choices=[("period_end", "At the end of the paid period"), ("now", "Now")],
        widget=forms.RadioSelect,
        initial="period_end",
    )
    field_order = ["when", "reason", "key"]


class RefundForm(ConfirmForm):
    amount = forms.IntegerField(
        min_value=1,
        required=False,
        help_text="In minor units (pence). Empty: refund all that is left of the last payment.",
    )
    field_order = ["amount", "reason", "key"]


class ResendEmailForm(ConfirmForm):
    notification = forms.TypedChoiceField(coerce=int, choices=[])
    field_order = ["notification", "reason", "key"]

    def __init__(self, *args: object, owed: list[tuple[int, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["notification"].choices = owed  # type: ignore[attr-defined]
