"""The operations dashboard's pages. Thin: reads through subscriptions' selectors,
writes through its staff-action services; every view is behind `ops_required`."""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from config import charts
from config.exceptions import ApplicationError
from subscriptions import metrics, timeline
from subscriptions.models import MrrMovement, SubscriptionStatus
from subscriptions.money import format_money
from subscriptions.services import jobs, staff_actions
from subscriptions.services.staff_actions import AlreadyDone

from . import forms, reads
from .access import ops_required, staff

DEFAULT_DAYS = 84
MAX_DAYS = 731


def _period(params: Any) -> tuple[metrics.Period, str]:
    """The chosen period (`from`, `to` as YYYY-MM-DD, inclusive), or the last twelve
    weeks with a message saying what was wrong with the input."""
    today = timezone.now().date()
    default = metrics.Period(first=today - timedelta(days=DEFAULT_DAYS - 1), last=today)
    raw_from, raw_to = params.get("from", "").strip(), params.get("to", "").strip()
    if not raw_from and not raw_to:
        return default, ""
    try:
        first = date.fromisoformat(raw_from) if raw_from else default.first
        last = date.fromisoformat(raw_to) if raw_to else today
    except ValueError:
        return default, "Dates are written YYYY-MM-DD; showing the last twelve weeks."
    if first > last:
        return default, "The period starts after it ends; showing the last twelve weeks."
    if (last - first).days >= MAX_DAYS:
        return default, "Choose at most two years; showing the last twelve weeks."
    return metrics.Period(first=first, last=last), ""


@ops_required
def dashboard(request: HttpRequest) -> HttpResponse:
    period, problem = _period(request.GET)
    bridge = metrics.mrr_bridge(period)
    states = metrics.subscribers_by_state()
    conversion = metrics.trial_conversion_by_week(period)
    churn = metrics.churn_by_month(period)
    trend = metrics.trend(period)
    day_labels = [f"{day:%d %b}" for day in trend["days"]]
    movement_bars = [(label, bridge.movements[kind]) for kind, label in MrrMovement.choices]
    currency = settings.CURRENCY
    money = partial(_money, currency=currency)
    context = {
        "period": period,
        "problem": problem,
        "currency": currency,
        "definitions": metrics.DEFINITIONS,
        "states": states,
        "states_chart": charts.hbar_chart("Subscribers by state", states),
        "bridge": bridge,
        "movements": movement_bars,
        "movements_chart": charts.bar_chart(
            f"MRR movements ({currency.upper()})",
            [("Opening", bridge.opening), *movement_bars, ("Closing", bridge.closing)],
            fmt=money,
        ),
        "conversion": conversion,
        "conversion_chart": charts.bar_chart(
            "Trials converted by weekly cohort",
            [(f"{row['week']:%d %b}", row["converted"]) for row in conversion],
        ),
        "churn": churn,
        "dunning": metrics.failed_payments(period),
        "health": metrics.operations_health(job_names=jobs.JOBS),
        "trend": trend,
        # The day-by-day numbers of both trend charts: MRR, paying, and each charted state.
        "trend_states": [label for _, label in TREND_STATES],
        "trend_rows": [
            (day, mrr, paying, [trend["states"].get(key, [])[i] for key, _ in TREND_STATES])
            for i, (day, mrr, paying) in enumerate(
                zip(trend["days"], trend["mrr"], trend["paying"], strict=True)
            )
        ],
        "mrr_chart": charts.line_chart(
            f"MRR by day ({currency.upper()})", day_labels, [("MRR", trend["mrr"])], fmt=money
        ),
        "states_trend_chart": charts.line_chart(
            "Subscribers by state, by day",
            day_labels,
            [(label, trend["states"].get(key, [])) for key, label in TREND_STATES],
        ),
    }
    return render(request, "ops/dashboard.html", context, status=400 if problem else 200)


def _money(amount: int, *, currency: str) -> str:
    """Money on a chart: the amount without its currency code (the title names it)."""
    return format_money(amount=amount, currency=currency).rsplit(" ", 1)[0]


TREND_STATES = (
    ("trialing", "Trialing"),
    ("active", "Active"),
    ("past_due", "Past due"),
    ("complimentary", "Complimentary"),
    ("canceled", "Canceled"),
)


@ops_required
def snapshots_csv(request: HttpRequest) -> HttpResponse:
    """The daily snapshots of the chosen period, one row a day."""
    period, problem = _period(request.GET)
    if problem:
        return HttpResponse(problem, status=400, content_type="text/plain; charset=utf-8")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="masthead-metrics-{period.first}-{period.last}.csv"'
    )
    statuses = list(SubscriptionStatus.values)
    writer = csv.writer(response)
    writer.writerow(["day", "mrr_minor_units", "paying", *statuses])
    for row in metrics.snapshots(period):
        states = row.figures.get("states", {})
        writer.writerow(
            [row.day.isoformat(), row.figures.get("mrr", 0), row.figures.get("paying", 0)]
            + [states.get(status, 0) for status in statuses]
        )
    return response


@ops_required
def search(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    found = reads.find_subscribers(query=query) if query else []
    if len(found) == 1 and found[0].subscription_id is not None and found[0].exact:
        return redirect("ops:subscriber", subscription_id=found[0].subscription_id)
    return render(request, "ops/search.html", {"query": query, "found": found})


@ops_required
def subscriber(request: HttpRequest, subscription_id: int) -> HttpResponse:
    story = reads.subscriber_story(subscription_id=subscription_id)
    if story is None:
        raise Http404("No such subscription.")
    return render(
        request,
        "ops/subscriber.html",
        {
            "story": story,
            "available": [a for a in ACTIONS.values() if not a.unavailable(story)],
            "unavailable": [
                (a, a.unavailable(story)) for a in ACTIONS.values() if a.unavailable(story)
            ],
        },
    )


@dataclass(frozen=True)
class Action:
    slug: str
    title: str
    permission: str
    form: type[forms.ConfirmForm]
    perform: Callable[..., staff_actions.Done]
    explain: str
    unavailable: Callable[[timeline.Subscriber], str]  # why not now, or ""


LIVE = {"trialing", "active", "past_due"}


def _billed(story: timeline.Subscriber) -> bool:
    sub = story.subscription
    return bool(sub.stripe_subscription_id) and sub.status in LIVE


def _why_not_extend(story: timeline.Subscriber) -> str:
    return "" if story.subscription.status == "trialing" else "not in a trial"


def _why_not_comp(story: timeline.Subscriber) -> str:
    return "billed in Stripe: cancel first" if _billed(story) else ""


def _why_not_cancel(story: timeline.Subscriber) -> str:
    if _billed(story) or story.subscription.status in ("trialing", "complimentary"):
        return ""
    return "nothing to cancel"


def _why_not_at_period_end(story: timeline.Subscriber) -> str:
    if not _billed(story):
        return "not billed in Stripe, so there is no billing period to wait for"
    if story.subscription.cancel_at_period_end:
        return "it is already set to end with its period"
    return ""


def _why_not_refund(story: timeline.Subscriber) -> str:
    return "" if story.payments_left_to_refund > 0 else "no payment left to refund"


def _why_not_resync(story: timeline.Subscriber) -> str:
    return "" if story.subscription.stripe_subscription_id else "not in Stripe"


def _why_not_resend(story: timeline.Subscriber) -> str:
    return "" if story.emails_owed else "no email owed"


def _extend(sub_id: int, data: dict[str, Any], **common: Any) -> staff_actions.Done:
    return staff_actions.trial_extend(subscription_id=sub_id, days=data["days"], **common)


def _comp(sub_id: int, data: dict[str, Any], **common: Any) -> staff_actions.Done:
    return staff_actions.complimentary_grant(subscription_id=sub_id, until=data["until"], **common)


def _cancel(sub_id: int, data: dict[str, Any], **common: Any) -> staff_actions.Done:
    return staff_actions.subscription_cancel_by_staff(
        subscription_id=sub_id, at_period_end=data["when"] == "period_end", **common
    )


def _refund(sub_id: int, data: dict[str, Any], **common: Any) -> staff_actions.Done:
    return staff_actions.payment_refund(subscription_id=sub_id, amount=data["amount"], **common)


def _resync(sub_id: int, data: dict[str, Any], **common: Any) -> staff_actions.Done:
    return staff_actions.subscription_resync(subscription_id=sub_id, **common)


def _resend(sub_id: int, data: dict[str, Any], **common: Any) -> staff_actions.Done:
    return staff_actions.email_resend(
        subscription_id=sub_id, notification_id=data["notification"], **common
    )


ACTIONS: dict[str, Action] = {
    a.slug: a
    for a in (
        Action(
            "extend-trial",
            "Extend the trial",
            "extend_trial",
            forms.ExtendTrialForm,
            _extend,
            "Pushes the trial's end N days later (in Stripe too when the trial is billed there).",
            _why_not_extend,
        ),
        Action(
            "grant-complimentary",
            "Grant complimentary access",
            "grant_complimentary",
            forms.ComplimentaryForm,
            _comp,
            "Full access without payment until a date. Not for readers billed in Stripe.",
            _why_not_comp,
        ),
        Action(
            "cancel",
            "Cancel",
            "cancel_subscription",
            forms.CancelForm,
            _cancel,
            "Through Stripe when billed there: now, or at the end of the paid period.",
            _why_not_cancel,
        ),
        Action(
            "refund",
            "Refund the last payment",
            "refund_payment",
            forms.RefundForm,
            _refund,
            "Refunds all or part of the last payment through Stripe.",
            _why_not_refund,
        ),
        Action(
            "resync",
            "Resync from Stripe",
            "resync_subscription",
            forms.ConfirmForm,
            _resync,
            "Reads the subscription from Stripe and makes ours say the same.",
            _why_not_resync,
        ),
        Action(
            "resend-email",
            "Resend an owed email",
            "resend_email",
            forms.ResendEmailForm,
            _resend,
            "Sends now an email we owe this reader (pending or failed).",
            _why_not_resend,
        ),
    )
}


def _form(action: Action, story: timeline.Subscriber, data: Any = None) -> forms.ConfirmForm:
    kwargs: dict[str, Any] = {}
    if action.form is forms.ResendEmailForm:
        kwargs["owed"] = timeline.owed_emails(user_id=story.subscription.user_id)
    if action.form is forms.CancelForm:
        kwargs["only_now"] = _why_not_at_period_end(story)
    if action.form is forms.RefundForm:
        kwargs["currency"] = story.payment_currency or settings.CURRENCY
        kwargs["left"] = story.payments_left_to_refund
    initial = {"key": forms.ConfirmForm.fresh_key()}
    return action.form(data, initial=initial, **kwargs)


@ops_required
@require_http_methods(["GET", "POST"])
def subscriber_action(request: HttpRequest, subscription_id: int, action: str) -> HttpResponse:
    chosen = ACTIONS.get(action)
    if chosen is None:
        raise Http404("No such action.")
    if not request.user.has_perm(f"subscriptions.{chosen.permission}"):
        raise PermissionDenied("You may not do this.")
    story = reads.subscriber_story(subscription_id=subscription_id)
    if story is None:
        raise Http404("No such subscription.")
    form = _form(chosen, story, request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                done = chosen.perform(
                    subscription_id,
                    data,
                    reason=data["reason"],
                    actor_id=staff(request).pk,
                    key=data["key"],
                )
            except AlreadyDone as exc:
                messages.warning(request, exc.message)
                return redirect("ops:subscriber", subscription_id=subscription_id)
            except ApplicationError as exc:
                form.add_error(None, exc.message)
                status = exc.status_code
            else:
                messages.success(request, done.message)
                return redirect("ops:subscriber", subscription_id=subscription_id)
    return render(
        request,
        "ops/action.html",
        {"story": story, "action": chosen, "form": form},
        status=status,
    )


@ops_required
def events(request: HttpRequest) -> HttpResponse:
    return render(request, "ops/events.html", {"events": timeline.webhook_events_needing_care()})


@ops_required
@require_http_methods(["GET", "POST"])
def event_replay(request: HttpRequest, event_id: str) -> HttpResponse:
    if not request.user.has_perm("subscriptions.replay_webhook"):
        raise PermissionDenied("You may not do this.")
    event = timeline.webhook_event(event_id=event_id)
    if event is None:
        raise Http404("No such webhook event.")
    form = forms.ConfirmForm(
        request.POST if request.method == "POST" else None,
        initial={"key": forms.ConfirmForm.fresh_key()},
    )
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                done = staff_actions.webhook_replay(
                    event_id=event.stripe_id,
                    reason=form.cleaned_data["reason"],
                    actor_id=staff(request).pk,
                    key=form.cleaned_data["key"],
                )
            except AlreadyDone as exc:
                messages.warning(request, exc.message)
                return redirect("ops:events")
            except ApplicationError as exc:
                form.add_error(None, exc.message)
                status = exc.status_code
            else:
                messages.success(request, done.message)
                return redirect("ops:events")
    return render(request, "ops/replay.html", {"event": event, "form": form}, status=status)
