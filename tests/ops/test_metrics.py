"""Every metric against values worked out here from known data, and MRR's bridge
(opening + movements = closing) as a property over random histories."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from subscriptions import metrics
from subscriptions.models import JobRun, MetricSnapshot, MrrChange, Plan, Subscription
from subscriptions.services import jobs
from subscriptions.services.snapshots import snapshots_catch_up
from subscriptions.services.transitions import ALLOWED, subscription_for_user, transition
from subscriptions.vocabulary import AuditSource
from tests.factories import PlanFactory, UserFactory

pytestmark = pytest.mark.django_db


def at(month: int, day: int, hour: int = 12) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


NOV = metrics.Period(first=date(2026, 11, 1), last=date(2026, 11, 30))


@pytest.fixture
def plans() -> dict[str, Plan]:
    return {
        "monthly": PlanFactory(code="monthly", amount=1000),
        "premium": PlanFactory(code="premium", amount=2000, stripe_price_id="price_premium"),
        "yearly": PlanFactory(code="yearly", interval="year", amount=9999),  # 833 a month
    }


def new_sub(created: datetime) -> Subscription:
    sub = subscription_for_user(user_id=UserFactory().pk)
    Subscription.objects.filter(pk=sub.pk).update(created_at=created)
    return sub


def move(sub: Subscription, to: str, when: datetime, **changes) -> None:
    transition(subscription_id=sub.pk, to=to, source=AuditSource.STRIPE, now=when, **changes)


@pytest.fixture
def november(plans):
    """October sets the scene; November has an upgrade, a downgrade, a churn, a
    reactivation, a new subscriber, and three payment failures."""
    m, p, y = plans["monthly"], plans["premium"], plans["yearly"]
    subs = {name: new_sub(at(10, 1)) for name in "ABCDEFGHIJ"}
    move(subs["A"], "active", at(10, 10), plan=m)
    move(subs["B"], "active", at(10, 12), plan=p)
    move(subs["C"], "active", at(10, 15), plan=y)
    move(subs["D"], "active", at(10, 20), plan=m)
    move(subs["D"], "canceled", at(10, 25))
    move(subs["H"], "active", at(10, 5), plan=m)
    move(subs["I"], "active", at(10, 5), plan=m)
    move(subs["J"], "active", at(10, 5), plan=m)
    # November
    move(subs["E"], "trialing", at(11, 2), trial_started_at=at(11, 2), trial_ends_at=at(11, 16))
    move(subs["F"], "trialing", at(11, 3), trial_started_at=at(11, 3), trial_ends_at=at(11, 17))
    move(subs["G"], "complimentary", at(11, 4))
    move(subs["A"], "active", at(11, 5), plan=p)  # upgrade: +1000
    move(subs["B"], "active", at(11, 8), plan=m)  # downgrade: -1000
    move(subs["C"], "canceled", at(11, 12))  # churn: -833
    move(subs["D"], "active", at(11, 15), plan=m)  # reactivation: +1000
    move(subs["E"], "active", at(11, 16), plan=m)  # new: +1000
    move(subs["F"], "expired", at(11, 17))
    move(subs["H"], "past_due", at(11, 3))  # recovered within the 7-day grace
    move(subs["H"], "active", at(11, 6))
    move(subs["I"], "past_due", at(11, 10))  # lost
    move(subs["I"], "canceled", at(11, 20))  # churn: -1000
    move(subs["J"], "past_due", at(11, 25), past_due_since=at(11, 25))  # open, still MRR
    return subs


def test_mrr_bridge_for_a_month_with_every_movement(november):
    # Worked out by hand: at 1 Nov A 1000, B 2000, C 833, H, I, J 1000 each.
    opening = 1000 + 2000 + 833 + 3 * 1000
    bridge = metrics.mrr_bridge(NOV)
    assert bridge.opening == opening == 6833
    assert bridge.movements == {
        "new": 1000,
        "expansion": 1000,
        "contraction": -1000,
        "churned": -833 - 1000,
        "reactivated": 1000,
    }
    # At 1 Dec: A 2000, B 1000, D 1000, E 1000, H 1000, J 1000 (past due still owes).
    assert bridge.closing == 7000
    assert bridge.opening + sum(bridge.movements.values()) == bridge.closing


def test_churn_by_month(november):
    oct_nov = metrics.Period(first=date(2026, 10, 1), last=date(2026, 11, 30))
    october, nov = metrics.churn_by_month(oct_nov)
    assert october["month"] == date(2026, 10, 1)
    assert (october["opening_paying"], october["churned_logos"]) == (0, 1)  # D
    assert october["logo_churn"] == "—"  # nobody paid at its start
    assert nov["opening_paying"] == 6  # A B C H I J
    assert nov["churned_logos"] == 2  # C and I
    assert nov["logo_churn"] == f"{100 * 2 / 6:.1f}%"
    assert (nov["opening_mrr"], nov["churned_mrr"], nov["contraction_mrr"]) == (6833, 1833, 1000)
    assert nov["revenue_churn"] == f"{100 * (1833 + 1000) / 6833:.1f}%"


def test_failed_payments_recovered_lost_open(november):
    assert metrics.failed_payments(NOV) == {
        "recovered": 1,
        "recovered_late": 0,
        "lost": 1,
        "open": 1,
    }
    # A period that starts after the failures began counts none of them.
    late = metrics.Period(first=date(2026, 11, 26), last=date(2026, 11, 30))
    assert metrics.failed_payments(late) == {
        "recovered": 0,
        "recovered_late": 0,
        "lost": 0,
        "open": 0,
    }


def test_trial_conversion_by_weekly_cohort(november, plans):
    late = new_sub(at(11, 10))
    move(late, "trialing", at(11, 10), trial_started_at=at(11, 10), trial_ends_at=at(11, 24))
    rows = metrics.trial_conversion_by_week(NOV)
    # Week of Monday 2 Nov: E (paid) and F (expired); week of 9 Nov: one, not paid yet.
    assert [(r["week"], r["trials"], r["converted"], r["rate"]) for r in rows] == [
        (date(2026, 11, 2), 2, 1, "50.0%"),
        (date(2026, 11, 9), 1, 0, "0.0%"),
    ]


def test_subscribers_by_state_now(november, settings):
    settings.GRACE_PERIOD_DAYS = 7
    counts = dict(metrics.subscribers_by_state(now=at(11, 28)))
    assert dict(metrics.subscribers_by_state(now=at(12, 3)))["Past due, grace over"] == 1
    assert counts == {
        "Trialing": 0,
        "Active": 5,  # A B D E H
        "Past due, in grace": 1,  # J since 25 Nov
        "Past due, grace over": 0,
        "Complimentary": 1,  # G, open-ended
        "Complimentary, ended": 0,
        "Canceled": 2,  # C I
        "Trial ended": 1,  # F
        "No subscription": 0,
    }


def test_states_then_from_the_history(november):
    assert metrics.states_at(at(11, 1, 0)) == {
        "none": 3,  # E F G
        "trialing": 0,
        "active": 6,
        "past_due": 0,
        "canceled": 1,  # D
        "expired": 0,
        "complimentary": 0,
    }


def test_snapshot_job_backfills_is_idempotent_and_agrees_with_the_history(november):
    written = snapshots_catch_up(now=at(12, 1, 3))
    first, last = date(2026, 10, 1), date(2026, 11, 30)
    assert written == (last - first).days + 1 - 4  # nothing recorded before 5 October
    nov30 = MetricSnapshot.objects.get(day=date(2026, 11, 30))
    assert nov30.figures["mrr"] == 7000
    assert nov30.figures["paying"] == 6
    assert nov30.figures["states"]["active"] == 5
    oct31 = MetricSnapshot.objects.get(day=date(2026, 10, 31))
    assert oct31.figures["mrr"] == 6833
    figures = {s.day: s.figures for s in MetricSnapshot.objects.all()}
    for day, carried in figures.items():  # carried day to day = computed from scratch
        assert carried == metrics.figures_at(metrics.day_start(day + timedelta(days=1))), day
    assert snapshots_catch_up(now=at(12, 1, 3)) == 1  # only yesterday is redone
    assert {s.day: s.figures for s in MetricSnapshot.objects.all()} == figures
    MetricSnapshot.objects.filter(day__in=[date(2026, 11, 10), date(2026, 11, 11)]).delete()
    assert snapshots_catch_up(now=at(12, 1, 3)) == 3  # the two missing days, and yesterday
    assert {s.day: s.figures for s in MetricSnapshot.objects.all()} == figures
    trend = metrics.trend(NOV)
    assert trend["mrr"][0] == 6833 and trend["mrr"][-1] == 7000
    assert len(trend["days"]) == 30


def test_run_job_snapshot_metrics_records_its_run(november):
    result = jobs.run("snapshot_metrics")
    run = JobRun.objects.get(name="snapshot_metrics")
    assert run.ok is True and run.finished_at is not None
    assert run.result == str(result)
    health = metrics.operations_health(job_names=jobs.JOBS)
    row = next(j for j in health["jobs"] if j["name"] == "snapshot_metrics")
    assert row["run"] == run and row["seconds"] is not None


def test_a_failing_job_run_is_recorded_as_failed(monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setitem(jobs.JOBS, "prune_meter", broken)
    with pytest.raises(RuntimeError):
        jobs.run("prune_meter")
    run = JobRun.objects.get(name="prune_meter")
    assert (run.ok, run.result) == (False, "RuntimeError: disk full")


def test_dashboard_shows_the_figures_and_explains_them(ops_client, november):
    snapshots_catch_up(now=at(12, 1, 3))
    page = ops_client.get("/ops/", {"from": "2026-11-01", "to": "2026-11-30"})
    assert page.status_code == 200
    html = page.content.decode()
    assert page.context["bridge"].opening == 6833
    assert page.context["bridge"].closing == 7000
    (nov,) = page.context["churn"]  # its opening figures now read from the 31 Oct snapshot
    assert (nov["opening_paying"], nov["opening_mrr"], nov["churned_logos"]) == (6, 6833, 2)
    for text in [
        "Opening MRR",
        ">68.33 GBP<",
        ">70.00 GBP<",
        ">-18.33 GBP<",
        "Money in GBP.",
        metrics.DEFINITIONS["mrr"][:40],
        metrics.DEFINITIONS["churn"][:40],
        "<svg",
        "Recovered within grace",
    ]:
        assert text in html, text
    assert "minor units" not in html and ">6833<" not in html
    # The MRR charts are titled with the currency and write money on their axes.
    assert "MRR by day (GBP)" in html and "MRR movements (GBP)" in html
    assert "70.00</text>" in html or "70.00</title>" in html
    # Each chart says what it shows where a sighted reader looks: under it.
    assert html.count("<figcaption>") == 5
    assert "<figcaption>Trials that went on to pay, by week of sign-up.</figcaption>" in html
    # The states-by-day chart's numbers are in the day-by-day table too.
    assert '<th class="num">Trialing</th><th class="num">Active</th>' in html
    assert "cdn" not in html.lower()
    csv = ops_client.get("/ops/metrics.csv", {"from": "2026-11-29", "to": "2026-11-30"})
    lines = csv.content.decode().splitlines()
    assert lines[0].startswith("day,mrr_minor_units,paying,none,trialing,active")
    assert lines[2].startswith("2026-11-30,7000,6,")


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"from": "2026-13-01"}, b"Dates are written YYYY-MM-DD"),
        ({"from": "yesterday"}, b"Dates are written YYYY-MM-DD"),
        ({"from": "2026-11-30", "to": "2026-11-01"}, b"starts after it ends"),
        ({"from": "2020-01-01", "to": "2026-11-01"}, b"at most two years"),
    ],
)
def test_a_bad_period_is_a_clear_400(ops_client, params, message):
    page = ops_client.get("/ops/", params)
    assert page.status_code == 400
    assert message in page.content
    assert ops_client.get("/ops/metrics.csv", params).status_code == 400


# --- the property -----------------------------------------------------------------------
START = at(1, 1)
STATUSES = ["active", "past_due", "canceled", "expired", "complimentary"]
step = st.tuples(
    st.integers(0, 3),  # which subscription
    st.integers(0, 60 * 24 * 200),  # minutes after START
    st.sampled_from(STATUSES),
    st.sampled_from(["monthly", "premium", "yearly"]),
)


def independent_mrr(history: list[tuple[int, datetime, str, str]], when: datetime, plans) -> int:
    """MRR at `when`, from the applied steps alone: each subscription's last state."""
    last: dict[int, tuple[str, str]] = {}
    for sub, stamp, status, plan in history:
        if stamp < when:
            last[sub] = (status, plan)
    total = 0
    for status, code in last.values():
        if status in ("active", "past_due"):
            plan = plans[code]
            total += plan.amount // 12 if plan.interval == "year" else plan.amount
    return total


@hsettings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    steps=st.lists(step, min_size=1, max_size=14),
    cut=st.tuples(st.integers(0, 200), st.integers(0, 200)),
)
def test_opening_plus_movements_is_closing_for_any_history_and_period(plans, steps, cut):
    with transaction.atomic():
        subs = [new_sub(START) for _ in range(4)]
        current = dict.fromkeys(range(4), "none")
        applied: list[tuple[int, datetime, str, str]] = []
        for index, minutes, status, code in sorted(steps, key=lambda s: s[1]):
            if status != current[index] and status not in ALLOWED[current[index]]:
                continue
            when = START + timedelta(minutes=minutes)
            move(subs[index], status, when, plan=plans[code])
            current[index] = status
            applied.append((index, when, status, code))
        first = START.date() + timedelta(days=min(cut))
        last = START.date() + timedelta(days=max(cut))
        period = metrics.Period(first=first, last=last)
        bridge = metrics.mrr_bridge(period)
        assert bridge.opening + sum(bridge.movements.values()) == bridge.closing
        assert bridge.opening == independent_mrr(applied, period.start, plans)
        assert bridge.closing == independent_mrr(applied, period.end, plans)
        assert all(c.before != c.after for c in MrrChange.objects.all())
        transaction.set_rollback(True)


def test_every_number_a_chart_draws_stands_in_the_table_beside_it(ops_client, november):
    snapshots_catch_up(now=at(12, 1, 3))
    html = ops_client.get("/ops/", {"from": "2026-11-01", "to": "2026-11-30"}).content.decode()
    figures = [
        f for f in re.findall(r'<div class="figure">(.*?)</div>', html, re.S) if "<table" in f
    ]
    assert len(figures) == 3  # states, MRR movements, trial conversion
    for figure in figures:
        svg, table = figure.split("<table", 1)
        # Money is written the same way in both: "70.00" on the chart, "70.00 GBP" beside it.
        drawn = re.findall(r"<title>[^<]*: (-?[\d,.]+)</title>", svg)
        cells = re.findall(r'<td class="num">\+?(-?[\d,.]+)(?: GBP)?</td>', table)
        assert drawn, figure[:200]
        for number in drawn:
            assert number in cells, (number, figure[:200])
