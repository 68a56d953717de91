"""Monthly recurring revenue, recorded as it changes.

A subscription contributes MRR while it is `active` or `past_due` (a payment is owed;
it stops when the subscription is canceled or expires): the plan's amount, a yearly
plan's amount ÷ 12 rounded down, in integer minor units. Trials and complimentary access
contribute nothing. `mrr_record()` runs inside the transition under the row lock and
writes one `MrrChange` when the contribution moved; `before` is read from the previous
change, never recomputed, so the history telescopes exactly.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from ..models import MrrChange, MrrMovement, Plan, Subscription, SubscriptionStatus

S = SubscriptionStatus
MRR_STATUSES = frozenset({S.ACTIVE, S.PAST_DUE})


def monthly_amount(plan: Plan | None) -> int:
    if plan is None:
        return 0
    return plan.amount // 12 if plan.interval == "year" else plan.amount


def mrr_of(*, status: str, plan: Plan | None) -> int:
    return monthly_amount(plan) if status in MRR_STATUSES else 0


def movement_of(*, before: int, after: int, had_revenue: bool) -> str:
    if before == 0:
        return MrrMovement.REACTIVATED if had_revenue else MrrMovement.NEW
    if after == 0:
        return MrrMovement.CHURNED
    return MrrMovement.EXPANSION if after > before else MrrMovement.CONTRACTION


def mrr_record(*, sub: Subscription, at: datetime) -> MrrChange | None:
    """Called with the saved, locked row: one change when its MRR differs from the last."""
    after = mrr_of(status=sub.status, plan=sub.plan)
    last = (
        MrrChange.objects.filter(subscription_id=sub.pk)
        .order_by("-at", "-id")
        .values_list("after", flat=True)
        .first()
    )
    before = last or 0
    if before == after:
        return None
    return MrrChange.objects.create(
        subscription_id=sub.pk,
        at=at,
        before=before,
        after=after,
        currency=sub.plan.currency if sub.plan else "gbp",
        movement=movement_of(before=before, after=after, had_revenue=last is not None),
    )


def mrr_record_many(*, subscription_ids: Iterable[int], at: datetime) -> int:
    """The batch form for `transition_many()`: two queries and one insert per chunk."""
    ids = list(subscription_ids)
    subs = Subscription.objects.filter(pk__in=ids).select_related("plan")
    last: dict[int, int] = {}
    for sub_id, after in (
        MrrChange.objects.filter(subscription_id__in=ids)
        .order_by("subscription_id", "at", "id")
        .values_list("subscription_id", "after")
    ):
        last[sub_id] = after
    changes = []
    for sub in subs:
        after = mrr_of(status=sub.status, plan=sub.plan)
        before = last.get(sub.pk, 0)
        if before != after:
            changes.append(
                MrrChange(
                    subscription_id=sub.pk,
                    at=at,
                    before=before,
                    after=after,
                    currency=sub.plan.currency if sub.plan else "gbp",
                    movement=movement_of(before=before, after=after, had_revenue=sub.pk in last),
                )
            )
    MrrChange.objects.bulk_create(changes)
    return len(changes)
