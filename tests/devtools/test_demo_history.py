"""The demo's history (`load_demo` writes ~4 months of readers, reads, billing and jobs
through the product's services): what the ops dashboard and the publisher portal show."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone

from accounts.models import TrialClaim
from articles.models import Publication, Publisher
from devtools import history
from publishers import stats
from subscriptions import metrics
from subscriptions.models import (
    AuditEntry,
    MetricSnapshot,
    MrrChange,
    MrrMovement,
    Notification,
    Payment,
    PublisherStatement,
    ReadEvent,
    StaffAction,
    StripeEvent,
    StripeEventStatus,
    Subscription,
    SubscriptionStatus,
)

SIZES = {"publishers": 4, "publications": 12, "articles": 400, "readers": 36, "visitors": 30}
HISTORY_TABLES = (
    ReadEvent,
    Subscription,
    AuditEntry,
    MrrChange,
    StripeEvent,
    Payment,
    PublisherStatement,
    MetricSnapshot,
    Notification,
    StaffAction,
    TrialClaim,
)


def _load(**sizes: Any) -> str:
    out = StringIO()
    call_command("load_demo", stdout=out, **{**SIZES, **sizes})
    return out.getvalue()


def _counts() -> dict[str, int]:
    counts = {model.__name__: model.objects.count() for model in HISTORY_TABLES}
    counts["users"] = get_user_model().objects.count()
    return counts


@pytest.fixture
def loaded(db: None) -> str:
    return _load()


@pytest.mark.django_db
def test_history_gives_the_ops_dashboard_revenue_churn_and_snapshots(loaded: str) -> None:
    assert "Demo history of the last 120 days" in loaded
    now = timezone.now()
    assert metrics.mrr_at(now) > 0
    period = metrics.Period(first=(now - timedelta(days=90)).date(), last=now.date())
    bridge = metrics.mrr_bridge(period)
    assert bridge.opening + sum(bridge.movements.values()) == bridge.closing
    assert bridge.movements[MrrMovement.NEW] > 0
    movements = set(MrrChange.objects.values_list("movement", flat=True))
    assert {MrrMovement.NEW, MrrMovement.CHURNED, MrrMovement.EXPANSION} <= movements
    assert MrrMovement.CONTRACTION in movements
    states = set(Subscription.objects.values_list("status", flat=True))
    assert set(SubscriptionStatus.values) - {SubscriptionStatus.NONE} <= states
    # Back-filled snapshots from the first day of the history to yesterday.
    assert MetricSnapshot.objects.filter(day=now.date() - timedelta(days=1)).exists()
    assert MetricSnapshot.objects.count() >= 100
    latest = MetricSnapshot.objects.order_by("-day").first()
    assert latest is not None
    assert latest.figures  # computed by the job, not left empty
    # One webhook failed and waits for a replay; staff acted twice.
    assert StripeEvent.objects.filter(status=StripeEventStatus.FAILED).count() == 1
    assert set(StaffAction.objects.values_list("action", flat=True)) == {
        "trial.extended",
        "subscription.complimentary_granted",
    }
    # Every email of the past was sent (to memory), none is left for the worker.
    assert not Notification.objects.exclude(status="sent").exists()
    _demo_reader_is_as_it_was()
    _times_are_past_and_readers_deterministic()


@pytest.mark.django_db
def test_history_gives_the_publisher_reads_walls_trials_and_statements(loaded: str) -> None:
    featured = Publisher.objects.order_by("id").first()
    assert featured is not None
    titles = list(Publication.objects.filter(publisher=featured))
    today = timezone.now().date()
    rows = stats.title_stats(publications=titles, since=today - timedelta(days=120), until=today)
    assert sum(row.reads for row in rows) > 0
    assert sum(row.walls_total for row in rows) > 0
    assert sum(row.trials_started for row in rows) > 0
    assert sum(row.revenue_share for row in rows) > 0
    busiest = max(rows, key=lambda row: row.reads).publication
    days = stats.daily(publication=busiest, since=today - timedelta(days=30), until=today)
    assert sum(1 for day in days if day.reads) > 10  # a chart, not a spike
    # Statements for the closed months, issued by the job, with money in them.
    assert PublisherStatement.objects.filter(publisher=featured).count() >= 3
    assert PublisherStatement.objects.filter(amount__gt=0).exists()
    assert Payment.objects.exists()
    _second_load_adds_nothing()


def _demo_reader_is_as_it_was() -> None:
    reader = get_user_model().objects.get(email="reader@masthead.local")
    sub = Subscription.objects.get(user=reader)
    assert sub.status == SubscriptionStatus.TRIALING
    assert list(AuditEntry.objects.filter(subscription=sub).values_list("action", flat=True)) == [
        "trial.started"
    ]


def _second_load_adds_nothing() -> None:
    before = _counts()
    output = _load()
    assert "Demo history already present" in output
    assert _counts() == before


def _times_are_past_and_readers_deterministic() -> None:
    now = timezone.now()
    assert not ReadEvent.objects.filter(at__gt=now).exists()
    assert not AuditEntry.objects.filter(at__gt=now).exists()
    first = AuditEntry.objects.order_by("at").first()
    assert first is not None
    assert first.at < now - timedelta(days=100)
    emails = sorted(
        get_user_model()
        .objects.filter(email__endswith=f"@{history.READER_DOMAIN}")
        .values_list("email", flat=True)
    )
    assert emails == sorted(history.History.reader_email(i) for i in range(SIZES["readers"]))


def test_demo_visitors_carry_a_meter_cookie_the_paywall_reads():
    """The demo signs its visitors' meter cookie through the paywall facade: the paywall
    reads it back as that meter (a salt changed on one side only would fail here)."""
    from django.test import RequestFactory

    from subscriptions import paywall

    past = history.History.__new__(history.History)
    past.factory = RequestFactory()
    request = past.request(meter_id="demo3r7")
    assert paywall.cookie_reader_key(request) == "a:demo3r7"
    assert past.request().COOKIES == {}  # no meter id: no cookie
