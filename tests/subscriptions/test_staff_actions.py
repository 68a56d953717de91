"""Staff change subscriptions only through admin actions that call services: each change
is a `transition()` with an audit entry naming them; the change form edits nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.utils import timezone

from config.exceptions import ApplicationError
from subscriptions.models import AuditEntry, StripeEvent, Subscription
from subscriptions.services import complimentary, trials
from subscriptions.services.transitions import subscription_for_user, transition
from subscriptions.vocabulary import AuditAction, AuditSource
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
CHANGELIST = "/admin/subscriptions/subscription/"


@pytest.fixture
def staff(client):
    user = get_user_model().objects.create_superuser(email="ops@example.com", password="x")
    client.force_login(user)
    return user


def local_trial(days: int = 3) -> Subscription:
    sub = subscription_for_user(user_id=UserFactory().pk)
    return transition(
        subscription_id=sub.pk,
        to="trialing",
        source=AuditSource.TRIAL,
        trial_started_at=timezone.now(),
        trial_ends_at=timezone.now() + timedelta(days=days),
    )


def act(client, action: str, *subs: Subscription):
    return client.post(
        CHANGELIST, {"action": action, "_selected_action": [s.pk for s in subs]}, follow=True
    )


def test_the_change_form_edits_nothing(client, staff):
    sub = local_trial()
    before = sub.trial_ends_at
    page = client.get(f"{CHANGELIST}{sub.pk}/change/")
    assert page.status_code == 200
    assert b'name="trial_ends_at' not in page.content
    assert b'name="stripe_subscription_id' not in page.content
    client.post(
        f"{CHANGELIST}{sub.pk}/change/",
        {"trial_ends_at_0": "2099-01-01", "trial_ends_at_1": "00:00", "status": "active"},
    )
    sub.refresh_from_db()
    assert (sub.status, sub.trial_ends_at) == ("trialing", before)
    assert client.get(f"{CHANGELIST}add/").status_code == 403


def test_extend_trial_action_moves_the_end_and_audits_the_staff_member(client, staff):
    sub = local_trial(days=3)
    before = sub.trial_ends_at
    assert before is not None
    response = act(client, "extend_trial", sub)
    assert b"Trials extended: 1." in response.content
    sub.refresh_from_db()
    assert sub.trial_ends_at == before + timedelta(days=7)
    entry = AuditEntry.objects.get(subscription=sub, action=AuditAction.TRIAL_EXTENDED)
    assert (entry.source, entry.actor_id, entry.detail["days"]) == ("ops", staff.pk, 7)


def test_extend_trial_is_refused_without_a_trial_and_changes_nothing(client, staff):
    sub = subscription_for_user(user_id=UserFactory().pk)
    response = act(client, "extend_trial", sub)
    assert b"There is no free trial to extend." in response.content
    sub.refresh_from_db()
    assert sub.status == "none"
    assert not AuditEntry.objects.filter(subscription=sub).exists()


def test_trial_extend_refuses_odd_day_counts():
    sub = local_trial()
    for days in (0, -1, trials.MAX_TRIAL_EXTENSION_DAYS + 1):
        with pytest.raises(ApplicationError) as refused:
            trials.trial_extend(subscription_id=sub.pk, days=days, actor_id=None)
        assert refused.value.code == "bad_days"
    assert not AuditEntry.objects.filter(action=AuditAction.TRIAL_EXTENDED).exists()


def test_grant_complimentary_then_cancel_it(client, staff):
    sub = subscription_for_user(user_id=UserFactory().pk)
    act(client, "grant_complimentary", sub)
    sub.refresh_from_db()
    assert sub.status == "complimentary"
    assert sub.complimentary_until is not None
    granted = AuditEntry.objects.get(action=AuditAction.SUBSCRIPTION_COMPLIMENTARY_GRANTED)
    assert granted.actor_id == staff.pk
    act(client, "cancel", sub)
    sub.refresh_from_db()
    assert (sub.status, sub.complimentary_until) == ("canceled", None)
    assert AuditEntry.objects.get(action=AuditAction.SUBSCRIPTION_CANCELED).actor_id == staff.pk


def test_complimentary_is_refused_while_stripe_bills_the_reader():
    sub = subscription_for_user(user_id=UserFactory().pk)
    transition(
        subscription_id=sub.pk, to="active", source=AuditSource.STRIPE, stripe_subscription_id="s1"
    )
    with pytest.raises(ApplicationError) as refused:
        complimentary.complimentary_grant(subscription_id=sub.pk, days=30, actor_id=None)
    assert refused.value.code == "billed_by_stripe"
    sub.refresh_from_db()
    assert sub.status == "active"


def test_staff_cancel_of_a_local_trial_is_the_readers_one_path(client, staff):
    sub = local_trial()
    act(client, "cancel", sub)
    sub.refresh_from_db()
    assert sub.status == "canceled"
    entry = AuditEntry.objects.get(subscription=sub, action=AuditAction.TRIAL_CANCELED)
    assert (entry.source, entry.actor_id) == ("ops", staff.pk)


@pytest.mark.parametrize("action", ["extend_trial", "grant_complimentary", "cancel"])
def test_staff_who_may_only_view_subscriptions_cannot_run_the_actions(client, action):
    """The actions change subscriptions: a staff member with only the view permission
    sees the list but runs none of them."""
    viewer = get_user_model().objects.create_user(
        email="viewer@example.com", password="x", is_staff=True
    )
    viewer.user_permissions.add(Permission.objects.get(codename="view_subscription"))
    client.force_login(viewer)
    sub = local_trial()
    before = (sub.status, sub.trial_ends_at)
    assert client.get(CHANGELIST).status_code == 200

    act(client, action, sub)

    sub.refresh_from_db()
    assert (sub.status, sub.trial_ends_at) == before
    assert not AuditEntry.objects.filter(actor=viewer).exists()


def test_staff_who_may_only_view_stripe_events_cannot_replay_them(client):
    viewer = get_user_model().objects.create_user(
        email="viewer@example.com", password="x", is_staff=True
    )
    viewer.user_permissions.add(Permission.objects.get(codename="view_stripeevent"))
    client.force_login(viewer)
    event = StripeEvent.objects.create(
        stripe_id="evt_1", type="customer.subscription.updated", payload={}, created=timezone.now()
    )
    changelist = "/admin/subscriptions/stripeevent/"
    assert client.get(changelist).status_code == 200

    client.post(changelist, {"action": "replay", "_selected_action": [event.pk]}, follow=True)

    event.refresh_from_db()
    assert event.attempts == 0
