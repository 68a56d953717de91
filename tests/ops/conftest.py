from __future__ import annotations

import importlib
from datetime import timedelta

import pytest
from django.apps import apps as django_apps
from django.contrib.auth.models import Group
from django.utils import timezone

from articles.models import PublisherStaff
from ops.permissions import ops_view_grant
from subscriptions.models import Subscription
from subscriptions.services.transitions import subscription_for_user, transition
from subscriptions.vocabulary import AuditSource
from tests.factories import PublisherFactory, UserFactory

# The Stripe double's fixtures (the process, `double`, `relay`), shared with these tests.
from tests.subscriptions.conftest import stripe_double_process  # noqa: F401
from tests.subscriptions.test_stripe_double import double, relay  # noqa: F401


def ensure_ops_group() -> Group:
    """The `ops` group as its data migration makes it (run again here: a transactional
    test elsewhere flushes the database, and the group with it)."""
    for name in ("0001_ops_group", "0002_ops_view_new_models"):
        importlib.import_module(f"ops.migrations.{name}").grant(django_apps, None)
    ops_view_grant()  # what every migrate ends with (ops.permissions, post_migrate)
    return Group.objects.get(name="ops")


@pytest.fixture
def ops_group() -> Group:
    return ensure_ops_group()


@pytest.fixture
def ops_user(ops_group):
    user = UserFactory(email="ops@masthead.local", is_staff=True)
    user.groups.add(ops_group)
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
        source=AuditSource.TRIAL,
        trial_started_at=now - timedelta(days=14 - days_left),
        trial_ends_at=now + timedelta(days=days_left),
    )
