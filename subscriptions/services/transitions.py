"""Every subscription status change goes through `transition()`.

It locks the row, re-checks the state, refuses moves the product forbids (no second
trial), does nothing when the row is already there, and writes one audit entry per real
change. Callers (trials, Stripe sync, ops actions, jobs) decide *what* the new state is;
this module guarantees *how* it is applied.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from config import versions
from config.exceptions import ApplicationError

from ..models import AuditEntry, Subscription, SubscriptionStatus
from ..vocabulary import AuditAction, AuditSource
from .attribution import ReaderHint, conversion_kind, conversion_record
from .bulk import RowPerChange, update_returning
from .mrr import MRR_STATUSES, mrr_record, mrr_record_many

S = SubscriptionStatus

# from-status -> statuses it may move to (staying put is always allowed).
ALLOWED: dict[str, set[str]] = {
    S.NONE: {S.TRIALING, S.ACTIVE, S.PAST_DUE, S.COMPLIMENTARY, S.CANCELED, S.EXPIRED},
    S.TRIALING: {S.ACTIVE, S.PAST_DUE, S.CANCELED, S.EXPIRED, S.COMPLIMENTARY},
    S.ACTIVE: {S.PAST_DUE, S.CANCELED, S.EXPIRED, S.COMPLIMENTARY, S.TRIALING},
    S.PAST_DUE: {S.ACTIVE, S.CANCELED, S.EXPIRED, S.COMPLIMENTARY},
    # A lapsed reader can resubscribe or be comped, but never trial again locally.
    S.CANCELED: {S.ACTIVE, S.PAST_DUE, S.COMPLIMENTARY, S.EXPIRED},
    S.EXPIRED: {S.ACTIVE, S.PAST_DUE, S.COMPLIMENTARY, S.CANCELED},
    S.COMPLIMENTARY: {S.ACTIVE, S.CANCELED, S.EXPIRED, S.NONE},
}

FIELDS = {
    "plan",
    "plan_id",
    "trial_started_at",
    "trial_ends_at",
    "current_period_end",
    "cancel_at_period_end",
    "past_due_since",
    "complimentary_until",
    "stripe_subscription_id",
    "stripe_synced_at",
    "stripe_synced_event",
}


# Bookkeeping of the Stripe sync: saved, but not worth a line in the reader's timeline.
BOOKKEEPING = {"stripe_synced_at", "stripe_synced_event"}


class TransitionNotAllowed(ApplicationError):
    def __init__(self, from_status: str, to_status: str):
        super().__init__(
            f"A subscription cannot go from {from_status} to {to_status}.",
            code="transition_not_allowed",
            status_code=409,
        )


def transition(
    *,
    subscription_id: int,
    to: str,
    source: AuditSource,
    action: AuditAction = AuditAction.SUBSCRIPTION_STATUS_CHANGED,
    actor_id: int | None = None,
    detail: dict[str, Any] | None = None,
    now: datetime | None = None,
    reader: ReaderHint | None = None,
    started_at: datetime | None = None,
    **changes: Any,
) -> Subscription:
    """Move one subscription to `to` (with field changes) under a row lock.

    Idempotent: when the locked row already has this status and these values, nothing is
    written and no audit entry is made. A change that starts a trial or a paid
    subscription keeps its attribution (`attribution.conversion_record`; `reader` is what
    a sign-up knows of the reader beyond the account) as of `started_at`, when the change
    happened elsewhere before we learnt of it (Stripe's time for it: a delayed or
    replayed webhook credits the wall before the start, not before its processing);
    never later than now.
    """
    unknown = set(changes) - FIELDS
    if unknown:
        raise TypeError(f"Unknown subscription fields: {sorted(unknown)}")
    now = now or timezone.now()
    with transaction.atomic():
        sub = Subscription.objects.select_for_update().get(pk=subscription_id)
        from_status = sub.status
        if to != from_status and to not in ALLOWED[from_status]:
            raise TransitionNotAllowed(from_status, to)
        changed = [name for name, value in changes.items() if getattr(sub, name) != value]
        if to == from_status and not changed:
            return sub
        for name in changed:
            setattr(sub, name, changes[name])
        sub.status = to
        # `plan_id` is saved as `plan`; `stripe_subscription_id` is a column of its own.
        fields = {"plan" if n == "plan_id" else n for n in changed}
        sub.save(update_fields=[*fields, "status", "updated_at"])
        mrr_record(sub=sub, at=now)
        if to == from_status and not set(changed) - BOOKKEEPING:
            return sub
        AuditEntry.objects.create(
            subscription=sub,
            at=now,
            action=action,
            from_status=from_status,
            to_status=to,
            source=source,
            actor_id=actor_id,
            detail={
                **(detail or {}),
                "changed": sorted(changed),
            },
        )
        kind = conversion_kind(from_status=from_status, to_status=to)
        if kind is not None:
            at = min(started_at, now) if started_at is not None else now
            conversion_record(subscription=sub, kind=kind, at=at, reader=reader)
        return sub


def subscription_for_user(*, user_id: int) -> Subscription:
    """The reader's one subscription row, created in status `none` if missing."""
    sub, _ = Subscription.objects.get_or_create(user_id=user_id)
    return sub


def transition_many(
    *,
    candidates: QuerySet[Subscription],
    limit: int,
    from_status: str,
    to: str,
    source: AuditSource,
    action: AuditAction,
    now: datetime | None = None,
    **changes: Any,
) -> list[tuple[int, int | None]]:
    """The batch form of `transition()` for jobs: up to `limit` of `candidates` that are
    still in `from_status` are locked (rows another worker holds are skipped), moved to
    `to` and audited, in one statement on PostgreSQL whatever the number of rows. Returns the moved
    rows as (subscription id, user id); empty when nothing is left to move."""
    if to != from_status and to not in ALLOWED[from_status]:
        raise TransitionNotAllowed(from_status, to)
    if conversion_kind(from_status=from_status, to_status=to) is not None:
        raise ValueError("A trial or subscription starts through transition(): attribution.")
    unknown = set(changes) - FIELDS
    if unknown:
        raise TypeError(f"Unknown subscription fields: {sorted(unknown)}")
    now = now or timezone.now()
    with transaction.atomic():
        # Lock, re-check the status, change the rows and write their audit entries in
        # one statement (the entries are made by the database from the changed rows).
        rows: list[tuple[int, int | None]] = [
            (int(pk), user_id)
            for pk, user_id in update_returning(
                candidates=candidates.filter(status=from_status),
                limit=limit,
                values={"status": to, "updated_at": now, **changes},
                returning=("id", "user_id"),
                also_insert=RowPerChange(
                    model=AuditEntry,
                    key="subscription",
                    values={
                        "at": now,
                        "action": action,
                        "from_status": from_status,
                        "to_status": to,
                        "source": source,
                        "detail": {"changed": sorted(changes)},
                    },
                ),
            )
        ]
        if not rows:
            return []
        if from_status in MRR_STATUSES or to in MRR_STATUSES:
            mrr_record_many(subscription_ids=[pk for pk, _ in rows], at=now)
        user_ids = [user_id for _, user_id in rows if user_id is not None]
        forget_cached_states(user_ids=user_ids)
        transaction.on_commit(lambda: forget_cached_states(user_ids=user_ids))
    return rows


def forget_cached_states(*, user_ids: list[int]) -> None:
    """One cache round trip for the whole batch: the accounts' stamps move (see
    selectors.forget_cached_state). Called in the change's transaction, so that a bump
    the cache does not take is kept with the change (config.versions), and again after
    commit, so that nothing read before the commit stays cached under the new stamp."""
    versions.bump_many([versions.account_key(user_id) for user_id in user_ids])
