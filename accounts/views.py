"""The reader's web pages: sign-up (allauth's, plus the trial), the account page, cancel
the trial, delete the account. Thin: services write, selectors read."""

from __future__ import annotations

from typing import Any

from allauth.account.views import SignupView as AllauthSignupView
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from config.exceptions import ApplicationError
from subscriptions.models import Plan
from subscriptions.services.trials import trial_cancel

from . import selectors, services
from .adapter import attribution_slug
from .forms import DeleteAccountForm
from .models import User


class SignupView(AllauthSignupView):
    """allauth's sign-up in one transaction with the trial; carries `from` along."""

    def form_valid(self, form: Any) -> HttpResponseBase:
        try:
            with transaction.atomic():
                return super().form_valid(form)
        except ApplicationError as exc:
            form.add_error("email", exc.message)
            return self.form_invalid(form)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["from_article"] = attribution_slug(self.request) or ""
        context["trial_days"] = settings.TRIAL_DAYS
        return context


signup = SignupView.as_view()


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
            "plans": [
                {
                    "code": plan.code,
                    "name": plan.name,
                    "interval": plan.get_interval_display(),
                    "price": f"{plan.amount / 100:.2f} {plan.currency.upper()}",
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
