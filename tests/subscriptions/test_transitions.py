from datetime import timedelta

import pytest
from django.utils import timezone

from subscriptions.models import AuditEntry, Subscription
from subscriptions.selectors import entitlement_for_user, entitlement_of
from subscriptions.services.transitions import (
    TransitionNotAllowed,
    subscription_for_user,
    transition,
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
    from subscriptions.services.transitions import transition_many

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
