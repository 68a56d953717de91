"""Web forms. allauth's sign-up form plus the one-trial-per-person check, said plainly."""

from __future__ import annotations

from typing import Any

from allauth.account.forms import SignupForm as AllauthSignupForm
from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm

from . import limits, selectors


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


class AdminLoginForm(AdminAuthenticationForm):
    """The admin's sign-in, counted in the one limiter (`accounts.limits`)."""

    def clean(self) -> dict[str, Any]:
        email = self.cleaned_data.get("username")
        if not email or not self.cleaned_data.get("password") or self.request is None:
            return super().clean()
        try:
            attempt = limits.signin_begin(email=email, address=limits.client_address(self.request))
        except limits.Throttled as exc:
            raise forms.ValidationError(
                limits.SIGNIN_THROTTLED, code=limits.THROTTLED_CODE, params={"wait": exc.wait}
            ) from None
        cleaned = super().clean()  # a failure raises and stays counted
        attempt.succeeded()
        return cleaned
