"""The reader's web pages: sign-up (allauth's, plus the trial), the account page, cancel
the trial, delete the account. Thin: services write, selectors read."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import get_adapter
from allauth.account.views import LoginView as AllauthLoginView
from allauth.account.views import SignupView as AllauthSignupView
from allauth.core.ratelimit import respond_429
from django.contrib import admin, messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from config.exceptions import ApplicationError
from config.links import on_site_path
from subscriptions.models import Plan
from subscriptions.money import format_money
from subscriptions.services.trials import trial_cancel

from . import limits, selectors, services
from .adapter import attribution_slug
from .forms import DeleteAccountForm, SignupForm
from .models import User


def _throttled(response: HttpResponseBase, wait: int) -> HttpResponseBase:
    response.status_code = 429
    response["Retry-After"] = str(wait)
    return response


def _signup_on_a_taken_address(email: str) -> HttpResponseBase:
    """Answer as after any sign-up that awaits a verification ("check your inbox"),
    never "already registered"; the address's owner is told by email (allauth's
    account_already_exists mail, sent after commit like all of ours)."""
    get_adapter().send_account_already_exists_mail(email)
    return redirect("account_email_verification_sent")


class SignupView(AllauthSignupView):
    """allauth's sign-up in one transaction with the trial; carries `from` along. Sign-ups
    are counted in the limiter the API shares (allauth's own `signup` limit is off)."""

    form_class = SignupForm

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.method == "POST":
            try:
                limits.signup_begin(address=limits.client_address(request))
            except limits.Throttled as exc:
                return _throttled(respond_429(request), exc.wait)
        return super().dispatch(request, *args, **kwargs)

    def form_valid(self, form: Any) -> HttpResponseBase:
        if form.account_already_exists:
            return _signup_on_a_taken_address(form.cleaned_data["email"])
        try:
            with transaction.atomic():
                return super().form_valid(form)
        except ApplicationError as exc:
            form.add_error("email", exc.message)
            return self.form_invalid(form)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["from_article"] = attribution_slug(self.request) or ""
        return context


signup = SignupView.as_view()


class LoginView(AllauthLoginView):
    """allauth's sign-in; refused by the limiter (see the adapter) it answers 429."""

    def form_invalid(self, form: Any) -> HttpResponse:
        response: HttpResponse = super().form_invalid(form)
        wait = limits.form_wait(form)
        return response if wait is None else _throttled(response, wait)  # type: ignore[return-value]


login = LoginView.as_view()


def admin_login(request: HttpRequest) -> HttpResponseBase:
    """The admin's sign-in page, limited like the others: 429 with the reason shown."""
    response = admin.site.login(request)
    context = getattr(response, "context_data", None) or {}
    form = context.get("form")
    wait = limits.form_wait(form) if form is not None else None
    return response if wait is None else _throttled(response, wait)


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


@login_required
def account(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    summary = selectors.account_summary(user=user)
    return render(
        request,
        "accounts/account.html",
        {
            "summary": summary,
            "subscription": summary["subscription"],
            # Staff signing in land here: the way on to where they work.
            "publisher_staff": user.publisher_memberships.exists(),
            # The wall's "See the plans" names the article; the plan forms carry it on.
            "next": on_site_path(request.GET.get("next")),
            "plans": [
                {
                    "code": plan.code,
                    "name": plan.name,
                    "interval": plan.get_interval_display(),
                    "price": format_money(amount=plan.amount, currency=plan.currency),
                }
                for plan in Plan.objects.filter(is_active=True)
            ],
        },
    )


@login_required
@require_POST
def cancel_trial(request: HttpRequest) -> HttpResponse:
    try:
        trial_cancel(user=_user(request))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Your free trial has ended. You can subscribe at any time.")
    return redirect("accounts:account")


@login_required
@require_http_methods(["GET", "POST"])
def delete_account(request: HttpRequest) -> HttpResponse:
    form = DeleteAccountForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.account_delete(user=_user(request), password=form.cleaned_data["password"])
        except ApplicationError as exc:
            form.add_error("password", exc.message)
        else:
            logout(request)
            messages.success(request, "Your account has been deleted.")
            return redirect("/")
    status = 400 if form.errors else 200
    return render(request, "accounts/delete.html", {"form": form}, status=status)
