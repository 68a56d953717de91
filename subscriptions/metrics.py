"""Subscription metrics for the operations dashboard: exact, from the recorded history.

Every figure is computed from rows we hold (subscriptions, their audit entries, MRR
changes, payments, webhook events, job runs), never estimated. Money is in integer
minor units. `DEFINITIONS` holds the one-line definition shown beside each figure.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, F, OuterRef, Q, Subquery, Sum
from django.db.models.functions import TruncWeek
from django.utils import timezone

from .models import (
    AuditEntry,
    DriftReport,
    JobRun,
    MetricSnapshot,
    MrrChange,
    MrrMovement,
    Notification,
    NotificationStatus,
    StripeEvent,
    StripeEventStatus,
    Subscription,
    SubscriptionStatus,
)

S = SubscriptionStatus
M = MrrMovement

DEFINITIONS = {
    "states": "Subscriptions by their status now; past due splits at the grace period "
    "(GRACE_PERIOD_DAYS after the first failed payment), complimentary at its end date.",
    "mrr": "Monthly recurring revenue: the plan amount of every active or past-due "
    "subscription, yearly plans ÷ 12 rounded down; trials and complimentary excluded.",
    "movements": "Changes of MRR in the period, by kind: new (first revenue), expansion "
    "(higher plan), contraction (lower plan), churned (revenue ended), reactivated "
    "(revenue again after it had ended). Opening + movements = closing, exactly.",
    "conversion": "Readers whose trial started in the week (Monday, UTC) and how many of "
    "them have paid since (any MRR recorded after the trial started); the latest two "
    "weeks are still in their fourteen-day trials.",
    "churn": "Per calendar month: logo churn = subscriptions whose revenue ended in the "
    "month ÷ subscriptions paying at its start; revenue churn = MRR lost to churn and "
    "contraction in the month ÷ MRR at its start.",
    "dunning": "Payment failures (a move into past due) that began in the period: "
    "recovered within the grace period, recovered later, lost (canceled or expired "
    "instead), or still open.",
    "webhooks": "Stripe webhook events not processed: failed ones wait for a replay, "
    "pending ones for the worker's drain (the requeue_stripe_events sweep restarts it).",
    "drift": "The last nightly reconciliation with Stripe: subscriptions checked, "
    "repaired because ours had drifted, and Stripe subscriptions tied to no reader.",
    "jobs": "Each scheduled job's last run (by the worker or run_job): when, how long, "
    "and what it returned.",
    "emails": "Emails owed to readers and not sent yet: pending, stuck sending, or failed.",
    "history": "From the daily snapshots written by the snapshot_metrics job (end of "
    "each UTC day).",
}


def day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


@dataclass(frozen=True)
class Period:
    """Whole UTC days, `first` to `last` inclusive."""

    first: date
    last: date

    @property
    def start(self) -> datetime:
        return day_start(self.first)

    @property
    def end(self) -> datetime:
        return day_start(self.last + timedelta(days=1))


# --- MRR -------------------------------------------------------------------------------
def mrr_at(at: datetime) -> int:
    """Total MRR just before `at`. Each change's `before` is the previous `after`, so the
    sum of (after - before) of a subscription's changes is its MRR then."""
    total = MrrChange.objects.filter(at__lt=at).aggregate(m=Sum(F("after") - F("before")))["m"]
    return int(total or 0)


def paying_at(at: datetime) -> int:
    """How many subscriptions had MRR just before `at`."""
    return (
        MrrChange.objects.filter(at__lt=at)
        .values("subscription")
        .annotate(m=Sum(F("after") - F("before")))
        .filter(m__gt=0)
        .count()
    )


@dataclass(frozen=True)
class MrrBridge:
    opening: int
    movements: dict[str, int]  # signed: churned and contraction are negative
    closing: int


def mrr_bridge(period: Period) -> MrrBridge:
    """Opening MRR, the period's movements by kind, closing MRR."""
    rows = (
        MrrChange.objects.filter(at__gte=period.start, at__lt=period.end)
        .values("movement")
        .annotate(m=Sum(F("after") - F("before")))
    )
    movements = {kind: 0 for kind in M.values}
    for row in rows:
        movements[row["movement"]] = int(row["m"])
    return MrrBridge(opening=mrr_at(period.start), movements=movements, closing=mrr_at(period.end))


# --- states ----------------------------------------------------------------------------
def subscribers_by_state(*, now: datetime | None = None) -> list[tuple[str, int]]:
    """Now, from the subscriptions themselves (labels in display order)."""
    now = now or timezone.now()
    grace_start = now - timedelta(days=settings.GRACE_PERIOD_DAYS)
    counts = Subscription.objects.aggregate(
        trialing=Count("pk", filter=Q(status=S.TRIALING)),
        active=Count("pk", filter=Q(status=S.ACTIVE)),
        # As entitlement_of(): an unknown start counts as in grace.
        past_due_grace=Count(
            "pk",
            filter=Q(status=S.PAST_DUE)
            & (Q(past_due_since__gt=grace_start) | Q(past_due_since__isnull=True)),
        ),
        past_due_over=Count("pk", filter=Q(status=S.PAST_DUE, past_due_since__lte=grace_start)),
        comp=Count(
            "pk",
            filter=Q(status=S.COMPLIMENTARY)
            & (Q(complimentary_until__isnull=True) | Q(complimentary_until__gt=now)),
        ),
        comp_ended=Count("pk", filter=Q(status=S.COMPLIMENTARY, complimentary_until__lte=now)),
        canceled=Count("pk", filter=Q(status=S.CANCELED)),
        expired=Count("pk", filter=Q(status=S.EXPIRED)),
        none=Count("pk", filter=Q(status=S.NONE)),
    )
    labels = [
        ("trialing", "Trialing"),
        ("active", "Active"),
        ("past_due_grace", "Past due, in grace"),
        ("past_due_over", "Past due, grace over"),
        ("comp", "Complimentary"),
        ("comp_ended", "Complimentary, ended"),
        ("canceled", "Canceled"),
        ("expired", "Trial ended"),
        ("none", "No subscription"),
    ]
    return [(label, int(counts[key])) for key, label in labels]


def states_at(at: datetime) -> dict[str, int]:
    """Subscriptions by recorded status just before `at`, from the audit history (the
    status of each one's last audit entry; `none` for rows without one)."""
    last = AuditEntry.objects.filter(subscription=OuterRef("pk"), at__lt=at).order_by("-at", "-id")
    rows = (
        Subscription.objects.filter(created_at__lt=at)
        .annotate(then=Subquery(last.values("to_status")[:1]))
        .values("then")
        .annotate(n=Count("pk"))
    )
    counts: dict[str, int] = {status: 0 for status in S.values}
    for row in rows:
        counts[row["then"] or S.NONE] += int(row["n"])
    return counts


# --- conversion, churn, dunning ------------------------------------------------------------
def trial_conversion_by_week(period: Period) -> list[dict[str, Any]]:
    """Two grouped queries (trials per week; paid subscriptions per week, joined from the
    MRR history), rather than a lookup per trial."""
    in_period = {"trial_started_at__gte": period.start, "trial_started_at__lt": period.end}
    trials = dict(
        Subscription.objects.filter(**in_period)
        .annotate(week=TruncWeek("trial_started_at"))
        .values("week")
        .annotate(n=Count("pk"))
        .values_list("week", "n")
    )
    converted = dict(
        MrrChange.objects.filter(
            after__gt=0,
            at__gte=F("subscription__trial_started_at"),
            **{f"subscription__{name}": value for name, value in in_period.items()},
        )
        .annotate(week=TruncWeek("subscription__trial_started_at"))
        .values("week")
        .annotate(n=Count("subscription", distinct=True))
        .values_list("week", "n")
    )
    return [
        {
            "week": week.date() if isinstance(week, datetime) else week,
            "trials": n,
            "converted": converted.get(week, 0),
            "rate": percent(converted.get(week, 0), n),
        }
        for week, n in sorted(trials.items())
    ]


def percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "—"


def month_starts(period: Period) -> list[date]:
    months = []
    month = period.first.replace(day=1)
    while month <= period.last:
        months.append(month)
        month = (month + timedelta(days=32)).replace(day=1)
    return months


def churn_by_month(period: Period) -> list[dict[str, Any]]:
    rows = []
    for month in month_starts(period):
        start = day_start(month)
        end = day_start((month + timedelta(days=32)).replace(day=1))
        in_month = MrrChange.objects.filter(at__gte=start, at__lt=end)
        lost = in_month.aggregate(
            churned=Sum(F("before") - F("after"), filter=Q(movement=M.CHURNED)),
            contraction=Sum(F("before") - F("after"), filter=Q(movement=M.CONTRACTION)),
            logos=Count("subscription", filter=Q(movement=M.CHURNED), distinct=True),
        )
        known = snapshot_before(month)
        opening_paying = known["paying"] if known else paying_at(start)
        opening_mrr = known["mrr"] if known else mrr_at(start)
        churned = int(lost["churned"] or 0)
        contraction = int(lost["contraction"] or 0)
        rows.append(
            {
                "month": month,
                "opening_paying": opening_paying,
                "churned_logos": int(lost["logos"] or 0),
                "logo_churn": percent(int(lost["logos"] or 0), opening_paying),
                "opening_mrr": opening_mrr,
                "churned_mrr": churned,
                "contraction_mrr": contraction,
                "revenue_churn": percent(churned + contraction, opening_mrr),
            }
        )
    return rows


def failed_payments(period: Period) -> dict[str, int]:
    """Each episode is a move into past due within the period; its outcome is the next
    move out of past due (at any time since)."""
    grace = timedelta(days=settings.GRACE_PERIOD_DAYS)
    entries = (
        AuditEntry.objects.filter(
            Q(to_status=S.PAST_DUE) | Q(from_status=S.PAST_DUE), at__gte=period.start
        )
        .exclude(from_status=F("to_status"))
        .order_by("subscription_id", "at", "id")
        .values_list("subscription_id", "at", "to_status")
    )
    outcome: Counter[str] = Counter(recovered=0, recovered_late=0, lost=0, open=0)
    started: dict[int, datetime] = {}
    for sub_id, at, to_status in entries:
        if to_status == S.PAST_DUE:
            if at < period.end:
                started[sub_id] = at
            continue
        began = started.pop(sub_id, None)
        if began is None:
            continue
        if to_status == S.ACTIVE:
            outcome["recovered" if at - began <= grace else "recovered_late"] += 1
        else:
            outcome["lost"] += 1
    outcome["open"] += len(started)
    return dict(outcome)


# --- operations ------------------------------------------------------------------------
def operations_health(*, job_names: Iterable[str]) -> dict[str, Any]:
    """Webhook, email and job health; `job_names` are the jobs to report (the caller passes
    the registry, so this read side does not import the jobs that write snapshots)."""
    events = StripeEvent.objects.aggregate(
        failed=Count("pk", filter=Q(status=StripeEventStatus.FAILED)),
        pending=Count("pk", filter=Q(status=StripeEventStatus.PENDING)),
    )
    jobs = []
    for name in sorted(job_names):  # one indexed query per job: a dozen at most
        run = JobRun.objects.filter(name=name).order_by("-started_at").first()
        seconds = (
            (run.finished_at - run.started_at).total_seconds()
            if run is not None and run.finished_at
            else None
        )
        jobs.append({"name": name, "run": run, "seconds": seconds})
    owed = Notification.objects.exclude(status=NotificationStatus.SENT).aggregate(
        n=Count("pk"), failed=Count("pk", filter=Q(status=NotificationStatus.FAILED))
    )
    return {
        "webhooks_failed": events["failed"],
        "webhooks_pending": events["pending"],
        "drift": DriftReport.objects.first(),
        "jobs": jobs,
        "emails_owed": owed["n"],
        "emails_failed": owed["failed"],
    }


# --- snapshots -------------------------------------------------------------------------
def figures_at(at: datetime) -> dict[str, Any]:
    """What a daily snapshot keeps: the figures just before `at` (a day's end)."""
    return {"mrr": mrr_at(at), "paying": paying_at(at), "states": states_at(at)}


def figures_next(figures: dict[str, Any], *, start: datetime, end: datetime) -> dict[str, Any]:
    """The figures at `end` from those at `start` and what happened between: each audit
    entry moves one subscription from its `from_status` to its `to_status` (the
    transition service writes them as a chain), each new subscription starts in `none`,
    each MRR change adds its delta and, crossing zero, a paying subscription. Equal to
    `figures_at(end)` and far cheaper: a back-fill costs three small queries a day."""
    states = dict(figures["states"])
    created = Subscription.objects.filter(created_at__gte=start, created_at__lt=end).count()
    states[S.NONE] = states.get(S.NONE, 0) + created
    moves = (
        AuditEntry.objects.filter(at__gte=start, at__lt=end)
        .exclude(from_status=F("to_status"))
        .values("from_status", "to_status")
        .annotate(n=Count("pk"))
    )
    for row in moves:
        source = row["from_status"] or S.NONE
        states[source] = states.get(source, 0) - row["n"]
        states[row["to_status"]] = states.get(row["to_status"], 0) + row["n"]
    changes = MrrChange.objects.filter(at__gte=start, at__lt=end).aggregate(
        delta=Sum(F("after") - F("before")),
        started=Count("pk", filter=Q(before=0)),
        stopped=Count("pk", filter=Q(after=0)),
    )
    return {
        "mrr": figures["mrr"] + int(changes["delta"] or 0),
        "paying": figures["paying"] + changes["started"] - changes["stopped"],
        "states": states,
    }


def snapshot_before(day: date) -> dict[str, Any] | None:
    """The figures at the start of `day`, when the snapshot of the day before exists."""
    row = MetricSnapshot.objects.filter(day=day - timedelta(days=1)).first()
    return row.figures if row is not None else None


def snapshots(period: Period) -> list[MetricSnapshot]:
    return list(MetricSnapshot.objects.filter(day__gte=period.first, day__lte=period.last))


def history_starts() -> date | None:
    """The first day anything was recorded (for back-filling snapshots)."""
    firsts = [
        AuditEntry.objects.order_by("at").values_list("at", flat=True).first(),
        MrrChange.objects.order_by("at").values_list("at", flat=True).first(),
    ]
    known = [at for at in firsts if at is not None]
    return min(known).date() if known else None


def trend(period: Period) -> dict[str, Any]:
    """Day by day from the snapshots: MRR and paying subscriptions (for the charts)."""
    rows = snapshots(period)
    states: dict[str, list[int]] = defaultdict(list)
    for row in rows:
        for status in S.values:
            states[status].append(int(row.figures.get("states", {}).get(status, 0)))
    return {
        "days": [row.day for row in rows],
        "mrr": [int(row.figures.get("mrr", 0)) for row in rows],
        "paying": [int(row.figures.get("paying", 0)) for row in rows],
        "states": dict(states),
    }
