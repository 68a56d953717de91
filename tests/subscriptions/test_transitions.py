from datetime import timedelta
from unittest import mock

import pytest
from django.core.cache import cache
from django.utils import timezone

from config import versions
from subscriptions.models import AuditEntry, Subscription
from subscriptions.selectors import entitlement_for_user, entitlement_of, state_cache_key
from subscriptions.services.transitions import (
    TransitionNotAllowed,
    subscription_for_user,
    transition,
    transition_many,
)
from subscriptions.vocabulary import AuditAction, AuditSource
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_transition_writes_once_and_is_idempotent():
    user = UserFactory()
    sub = subscription_for_user(user_id=user.pk)
    ends = timezone.now() + timedelta(days=14)
    transition(subscription_id=sub.pk, to="trialing", source=AuditSource.TRIAL, trial_ends_at=ends)
    transition(subscription_id=sub.pk, to="trialing", source=AuditSource.TRIAL, trial_ends_at=ends)
    sub.refresh_from_db()
    assert sub.status == "trialing"
    assert sub.trial_ends_at == ends
    assert AuditEntry.objects.filter(subscription=sub).count() == 1


@pytest.mark.parametrize("lapsed", ["canceled", "expired"])
def test_no_second_trial(lapsed):
    sub = subscription_for_user(user_id=UserFactory().pk)
    Subscription.objects.filter(pk=sub.pk).update(status=lapsed)
    with pytest.raises(TransitionNotAllowed):
        transition(
            subscription_id=sub.pk,
            to="trialing",
            source=AuditSource.TRIAL,
            trial_ends_at=timezone.now() + timedelta(days=14),
        )
    sub.refresh_from_db()
    assert sub.status == lapsed
    assert not AuditEntry.objects.exists()


def test_unknown_field_is_refused():
    sub = subscription_for_user(user_id=UserFactory().pk)
    with pytest.raises(TypeError):
        transition(subscription_id=sub.pk, to="active", source=AuditSource.OPS, status="active")


@pytest.mark.parametrize(
    ("status", "fields", "entitled", "reason"),
    [
        ("none", {}, False, "none"),
        ("trialing", {"trial_ends_at": +1}, True, "trial"),
        ("trialing", {"trial_ends_at": -1}, False, "none"),
        ("active", {}, True, "subscriber"),
        ("past_due", {"past_due_since": -3}, True, "subscriber"),
        ("past_due", {"past_due_since": -8}, False, "none"),
        ("complimentary", {}, True, "complimentary"),
        ("complimentary", {"complimentary_until": +1}, True, "complimentary"),
        ("complimentary", {"complimentary_until": -1}, False, "none"),
        ("canceled", {}, False, "none"),
        ("expired", {}, False, "none"),
    ],
)
def test_entitlement_rules(status, fields, entitled, reason, settings):
    settings.GRACE_PERIOD_DAYS = 7
    now = timezone.now()
    values = {k: now + timedelta(days=v) for k, v in fields.items()}
    sub = Subscription(status=status, **values)
    result = entitlement_of(sub, now=now)
    assert (result.entitled, result.reason) == (entitled, reason)


def test_entitlement_for_user_is_one_query(django_assert_num_queries):
    user = UserFactory()
    Subscription.objects.create(user=user, status="active")
    with django_assert_num_queries(1):
        assert entitlement_for_user(user_id=user.pk).entitled
    with django_assert_num_queries(0):
        assert not entitlement_for_user(user_id=None).entitled


def test_a_warm_entitlement_is_one_cache_round_trip_and_no_sql(django_assert_num_queries):
    """The state cached apart from the account record is read with the account's stamp."""
    user = UserFactory()
    Subscription.objects.create(user=user, status="active")
    assert entitlement_for_user(user_id=user.pk).entitled  # cached
    with (
        mock.patch.object(cache, "get_many", wraps=cache.get_many) as get_many,
        django_assert_num_queries(0),
    ):
        assert entitlement_for_user(user_id=user.pk).entitled
    get_many.assert_called_once()  # (the in-memory test cache's get_many calls its get)
    (keys,) = get_many.call_args.args
    assert set(keys) == {versions.account_key(user.pk), state_cache_key(user.pk)}


def test_a_state_cached_under_an_old_account_stamp_is_never_read():
    user = UserFactory()
    Subscription.objects.create(user=user, status="active")
    assert entitlement_for_user(user_id=user.pk).entitled  # cached
    Subscription.objects.filter(user=user).update(status="canceled")  # no signal, no bump
    assert entitlement_for_user(user_id=user.pk).entitled  # the cached state
    versions.bump(versions.account_key(user.pk))
    assert not entitlement_for_user(user_id=user.pk).entitled


def cancel_by_a_job(*, user_id: int) -> int:
    """The reader's active subscription canceled in a batch, as a job does (no save, no
    signal): how many rows moved."""
    moved = transition_many(
        candidates=Subscription.objects.filter(user_id=user_id),
        limit=10,
        from_status="active",
        to="canceled",
        source=AuditSource.JOB,
        action=AuditAction.SUBSCRIPTION_STATUS_CHANGED,
    )
    return len(moved)


def test_a_batch_transition_counts_on_the_next_read(django_capture_on_commit_callbacks):
    user = UserFactory()
    Subscription.objects.create(user=user, status="active")
    assert entitlement_for_user(user_id=user.pk).entitled  # cached
    with django_capture_on_commit_callbacks(execute=True):
        assert cancel_by_a_job(user_id=user.pk) == 1
    assert not entitlement_for_user(user_id=user.pk).entitled


def test_transition_saves_stripe_ids_and_plan():
    from tests.factories import PlanFactory

    plan = PlanFactory()
    sub = subscription_for_user(user_id=UserFactory().pk)
    transition(
        subscription_id=sub.pk,
        to="active",
        source=AuditSource.STRIPE,
        stripe_subscription_id="sub_1",
        plan=plan,
    )
    transition(subscription_id=sub.pk, to="active", source=AuditSource.STRIPE, plan_id=None)
    sub.refresh_from_db()
    assert (sub.stripe_subscription_id, sub.plan_id) == ("sub_1", None)


def test_every_start_is_kept_once_and_the_batch_form_refuses_starts():
    """A trial or paid start keeps a Conversion (attribution) through `transition()`;
    staying put, extending or lapsing keeps none, and `transition_many()` cannot start."""
    from subscriptions.models import Conversion

    user = UserFactory()
    sub = subscription_for_user(user_id=user.pk)
    ends = timezone.now() + timedelta(days=14)
    transition(subscription_id=sub.pk, to="trialing", source=AuditSource.TRIAL, trial_ends_at=ends)
    transition(
        subscription_id=sub.pk,
        to="trialing",
        source=AuditSource.OPS,
        trial_ends_at=ends + timedelta(1),
    )
    transition(subscription_id=sub.pk, to="active", source=AuditSource.STRIPE)
    transition(subscription_id=sub.pk, to="past_due", source=AuditSource.STRIPE)
    transition(subscription_id=sub.pk, to="active", source=AuditSource.STRIPE)
    assert sorted(Conversion.objects.values_list("kind", flat=True)) == ["subscription", "trial"]
    with pytest.raises(ValueError):
        transition_many(
            candidates=Subscription.objects.all(),
            limit=10,
            from_status="canceled",
            to="active",
            source=AuditSource.JOB,
            action=AuditAction.SUBSCRIPTION_STATUS_CHANGED,
        )
