"""Web forms. allauth's sign-up form plus the one-trial-per-person check, said plainly."""

from __future__ import annotations

from allauth.account.forms import SignupForm as AllauthSignupForm
from django import forms

from . import selectors


class SignupForm(AllauthSignupForm):
    def clean_email(self) -> str:
        email: str = super().clean_email()
        if email and selectors.email_in_use(email=email):
            raise forms.ValidationError(
                "An account already exists for this email address. Sign in instead.",
                code="email_taken",
            )
        return email


class DeleteAccountForm(forms.Form):
    password = forms.CharField(
        label="Your password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        error_messages={"required": "Type your password to confirm."},
    )
