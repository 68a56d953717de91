"""Web forms. allauth's sign-up form plus the one-trial-per-person check, said plainly."""

from __future__ import annotations

from typing import Any

from allauth.account.forms import LoginForm as AllauthLoginForm
from allauth.account.forms import SignupForm as AllauthSignupForm
from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm

from . import limits, selectors


class SignupForm(AllauthSignupForm):
    """allauth's sign-up form; an address already in use (any normalised variant) is not
    said on the page: allauth's enumeration-safe path answers "check your inbox" and
    emails the address's owner (account_already_exists) instead of creating an account."""

    def clean_email(self) -> str:
        try:
            email: str = super().clean_email()
        except forms.ValidationError as exc:
            if exc.code != "email_taken":
                raise
            email = self.cleaned_data["email"].lower()
            self.account_already_exists = True
        if email and selectors.email_in_use(email=email):
            self.account_already_exists = True
        return email


class LoginForm(AllauthLoginForm):
    """allauth's sign-in form, its labels in the site's sentence case."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "remember" in self.fields:
            self.fields["remember"].label = "Remember me"


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
