from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from articles.models import PublisherStaff
from subscriptions.models import Subscription
from subscriptions.services.transitions import subscription_for_user, transition
from tests.factories import PublisherFactory, UserFactory

# The Stripe double's fixtures (the process, `double`, `relay`), shared with these tests.
from tests.subscriptions.conftest import stripe_double_process  # noqa: F401
from tests.subscriptions.test_stripe_double import double, relay  # noqa: F401


@pytest.fixture
def ops_user():
    user = UserFactory(email="ops@masthead.local", is_staff=True)
    user.groups.add(Group.objects.get(name="ops"))  # made, with its permissions, by a migration
    return user


@pytest.fixture
def ops_client(client, ops_user):
    client.force_login(ops_user)
    return client


@pytest.fixture
def publisher_staff():
    user = UserFactory(is_staff=True)
    PublisherStaff.objects.create(user=user, publisher=PublisherFactory())
    return user


def local_trial(user, *, days_left: int = 10) -> Subscription:
    sub = subscription_for_user(user_id=user.pk)
    now = timezone.now()
    return transition(
        subscription_id=sub.pk,
        to="trialing",
        source="trial",
        trial_started_at=now - timedelta(days=14 - days_left),
        trial_ends_at=now + timedelta(days=days_left),
    )
