"""allauth hooks: a web sign-up starts the trial; allauth's mails go out via Celery."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context as allauth_context
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.sites.shortcuts import get_current_site
from django.db import transaction
from django.forms import BaseForm, ValidationError
from django.http import HttpRequest

from config.parsers import storable_text
from subscriptions import paywall

from . import limits, services, tasks
from .identity import validate_reader_email
from .models import User


def attribution_slug(request: HttpRequest) -> str | None:
    """The article slug the wall passed as `from` (query string or the form's field).
    A hint, not an answer: one the database cannot be asked about (a NUL) names no
    article, and is dropped rather than failing the sign-up."""
    value = (request.POST.get("from") or request.GET.get("from") or "").strip()[:200]
    return value if value and storable_text(value) else None


class AccountAdapter(DefaultAccountAdapter):
    error_messages = {
        **DefaultAccountAdapter.error_messages,
        "email_taken": "An account already exists for this email address. Sign in instead.",
    }

    def clean_email(self, email: str) -> str:
        """Every address a reader gives allauth (sign-up, a new address): our rule."""
        validate_reader_email(email)
        return super().clean_email(email)

    def save_user(
        self,
        request: HttpRequest,
        user: AbstractBaseUser,
        form: BaseForm,
        commit: bool = True,
    ) -> AbstractBaseUser:
        saved = super().save_user(request, user, form, commit=commit)
        if commit:
            assert isinstance(saved, User)
            services.signup_complete(
                user=saved,
                from_article_slug=attribution_slug(request),
                reader_key=paywall.cookie_reader_key(request),
            )
        return saved

    def authenticate(self, request: HttpRequest, **credentials: Any) -> AbstractBaseUser | None:
        """Web sign-in (and re-authentication) through the one limiter (`accounts.limits`,
        shared with the API and the admin); allauth's own `login_failed` limit is off."""
        email = str(credentials.get("email") or credentials.get("username") or "")
        try:
            attempt = limits.signin_begin(email=email, address=limits.client_address(request))
        except limits.Throttled as exc:
            raise ValidationError(
                self.error_messages["too_many_login_attempts"],
                code=limits.THROTTLED_CODE,
                params={"wait": exc.wait},
            ) from None
        user = super().authenticate(request, **credentials)
        if user is not None:
            attempt.succeeded()
        return user

    def get_client_ip(self, request: HttpRequest) -> str:
        """allauth's remaining limits (password reset, login page) see the same client
        address as ours and DRF's: one NUM_PROXIES for all."""
        return limits.client_address(request)

    def confirm_email(self, request: HttpRequest, email_address: Any) -> bool:
        """A verified address makes the reader's trial claim on it bind for good."""
        confirmed = bool(super().confirm_email(request, email_address))
        if confirmed:
            user = email_address.user
            assert isinstance(user, User)
            services.trial_claim_verify(user=user, email=email_address.email)
        return confirmed

    def set_password(self, user: AbstractBaseUser, password: str) -> None:
        """Password changed or reset on the web: the app's API tokens stop working too."""
        super().set_password(user, password)
        assert isinstance(user, User)
        services.api_tokens_revoke_all(user=user)

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        """Render in the request (the templates need it), deliver from a task after commit."""
        request = allauth_context.request
        ctx: dict[str, Any] = {
            "request": request,
            "email": email,
            "current_site": get_current_site(request),
        }
        ctx.update(context)
        message = self.render_mail(template_prefix, email, ctx)
        html = None
        for content, mimetype in getattr(message, "alternatives", []):
            if mimetype == "text/html":
                html = str(content)
        subject, body = str(message.subject), str(message.body)
        to, from_email = [str(a) for a in message.to], str(message.from_email)
        transaction.on_commit(
            lambda: tasks.send_rendered_email.delay(
                subject=subject, body=body, html=html, to=to, from_email=from_email
            ),
            robust=True,  # the broker down must not turn a sign-up into a 500
        )
