"""Reads of subscription state. `entitlement_of` is the one rule for who may read
premium text; the paywall facade and the account page both use it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.utils import timezone

from config import versions

from .models import Subscription, SubscriptionStatus
from .readers import Reader
from .vocabulary import EntitlementReason

S = SubscriptionStatus


@dataclass(frozen=True)
class Entitlement:
    entitled: bool
    reason: EntitlementReason
    status: str

    @classmethod
    def none(cls) -> Entitlement:
        return cls(entitled=False, reason=EntitlementReason.NONE, status=S.NONE)


class SubscriptionFacts(Protocol):
    """What the entitlement is derived from: a Subscription row has it, and so has the
    cached state (`StateFacts`) that the signed-in reader's page reads."""

    @property
    def status(self) -> str: ...
    @property
    def trial_ends_at(self) -> datetime | None: ...
    @property
    def past_due_since(self) -> datetime | None: ...
    @property
    def complimentary_until(self) -> datetime | None: ...


@dataclass(frozen=True, slots=True)
class StateFacts:
    """The cached state's fields (STATE_FIELDS): a model instance would cost every
    signed-in reader's page a Subscription built field by field, for four attributes."""

    status: str
    trial_ends_at: datetime | None = None
    past_due_since: datetime | None = None
    complimentary_until: datetime | None = None


def grace_ends_at(sub: SubscriptionFacts, *, now: datetime) -> datetime:
    """When a past-due subscription's access ends: GRACE_PERIOD_DAYS after the first
    failed payment (from now when the failure's time is unknown)."""
    return (sub.past_due_since or now) + timedelta(days=settings.GRACE_PERIOD_DAYS)


def entitlement_of(sub: SubscriptionFacts | None, *, now: datetime | None = None) -> Entitlement:
    """Pure: derived from the row's state and the clock, never stored.

    Entitled: trialing until trial_ends_at; active; past_due within GRACE_PERIOD_DAYS of
    the first failure; complimentary until its end (or open-ended).
    """
    if sub is None:
        return Entitlement.none()
    now = now or timezone.now()
    status = sub.status
    if status == S.TRIALING and sub.trial_ends_at and now < sub.trial_ends_at:
        return Entitlement(True, EntitlementReason.TRIAL, status)
    if status == S.ACTIVE:
        return Entitlement(True, EntitlementReason.SUBSCRIBER, status)
    if status == S.PAST_DUE and now < grace_ends_at(sub, now=now):
        return Entitlement(True, EntitlementReason.SUBSCRIBER, status)
    if status == S.COMPLIMENTARY and (
        sub.complimentary_until is None or now < sub.complimentary_until
    ):
        return Entitlement(True, EntitlementReason.COMPLIMENTARY, status)
    return Entitlement(False, EntitlementReason.NONE, status)


STATE_FIELDS = ("status", "trial_ends_at", "past_due_since", "complimentary_until")
STATE_CACHE_SECONDS = 24 * 3600


def state_cache_key(user_id: int) -> str:
    return f"subscription-state:v2:{user_id}"


# The state as the signed-in reader's cached account record carries it
# (accounts.authentication): read with the user in one round trip, and versioned by the
# account's stamp, which every change of the subscription bumps (forget_cached_state).
STATE_ATTR = "masthead_subscription_state"


def subscription_state(*, user_id: int) -> dict[str, object]:
    """One query: the fields the entitlement is derived from."""
    row = Subscription.objects.filter(user_id=user_id).values(*STATE_FIELDS).first()
    return row or {"status": S.NONE}


def cached_subscription_state(*, user_id: int) -> dict[str, object]:
    """The state, cached under the account's stamp (`config.versions.account_key`), as the
    account record is: the stamp and the state are read in one round trip, and the state
    counts only when it was made under the current stamp. A change moves the stamp, and
    a move the cache did not take is re-applied when it answers, so a stale state is never
    read again. Warm: one cache round trip, no SQL; cold: one query."""
    state_key = state_cache_key(user_id)
    stamp, cached = versions.read_stamped(versions.account_key(user_id), state_key)
    if cached is not None:
        state: dict[str, object] = cached["state"]
        return state
    state = subscription_state(user_id=user_id)
    cache.set(state_key, {"stamp": stamp, "state": state}, STATE_CACHE_SECONDS)
    return state


def entitlement_for_user(
    *, user_id: int | None, now: datetime | None = None, state: dict[str, object] | None = None
) -> Entitlement:
    """The reader's entitlement now, from the subscription's state (not the verdict, which
    depends on the clock): `state` when the caller read it with the reader's account (see
    STATE_ATTR), else `cached_subscription_state`. Anonymous readers: no round trip."""
    if user_id is None:
        return Entitlement.none()
    if state is None:
        state = cached_subscription_state(user_id=user_id)
    return entitlement_of(StateFacts(**state), now=now)  # type: ignore[arg-type]


def forget_cached_state(*, user_id: int | None) -> None:
    """The subscription changed: the account's stamp moves, so its cached state and the
    account record that carries it are stale in every process."""
    if user_id is not None:
        versions.bump(versions.account_key(user_id))


def reader_get(*, user_id: int) -> Reader | None:
    """The reader (the project's user model) with this id, if there is one."""
    reader: Reader | None = get_user_model()._default_manager.filter(pk=user_id).first()
    return reader


def reader_by_reference(*, reference: str | None) -> Reader | None:
    """The reader a Stripe object names by our id as text (`client_reference_id`,
    `metadata.user_id`), if any. Decimal digits only: "²" is a digit to str.isdigit()
    that int() refuses."""
    if not reference or not reference.isdecimal():
        return None
    return reader_get(user_id=int(reference))
