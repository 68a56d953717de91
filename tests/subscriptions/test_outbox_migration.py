"""Migration 0009 moves the two old send-once records into the outbox as sent rows (so
nothing is sent again after the move) and renames audit actions to the dotted scheme."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [
    ("accounts", "0003_user_welcome_email_sent_at"),
    ("subscriptions", "0008_seed_stripe_jobs"),
]
AFTER = [
    ("accounts", "0004_remove_user_welcome_email_sent_at"),
    ("subscriptions", "0009_one_outbox"),
]
SENT = datetime(2026, 5, 1, 9, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _back_to_the_latest_schema():
    yield
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_billing_notices_and_welcome_stamps_become_sent_notifications():
    old = migrate(BEFORE)
    User = old.get_model("accounts", "User")
    welcomed = User.objects.create(email="welcomed@example.org", welcome_email_sent_at=SENT)
    User.objects.create(email="new@example.org")
    old.get_model("subscriptions", "BillingNotice").objects.create(
        user=welcomed, kind="payment_failed", key="in_1:2"
    )
    sub = old.get_model("subscriptions", "Subscription").objects.create(user=welcomed)
    Audit = old.get_model("subscriptions", "AuditEntry")
    for action in ("trial:start", "trial_canceled", "stripe:invoice:active", "stripe:active"):
        Audit.objects.create(subscription=sub, at=SENT, action=action, source="trial")

    new = migrate(AFTER)
    rows = sorted(
        new.get_model("subscriptions", "Notification").objects.values_list(
            "user__email", "kind", "period", "status"
        )
    )
    assert rows == [
        ("welcomed@example.org", "payment_failed", "in_1:2", "sent"),
        ("welcomed@example.org", "welcome", "account", "sent"),
    ]
    actions = set(
        new.get_model("subscriptions", "AuditEntry").objects.values_list("action", flat=True)
    )
    assert actions == {
        "trial.started",
        "trial.canceled",
        "stripe.invoice_applied",
        "stripe.subscription_synced",
    }


def test_a_moved_welcome_is_not_sent_again(django_capture_on_commit_callbacks):
    from django.core import mail

    from accounts.models import User
    from accounts.services import signup_complete

    old = migrate(BEFORE)
    old.get_model("accounts", "User").objects.create(
        email="w@example.org", welcome_email_sent_at=SENT
    )
    migrate(AFTER)
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    migrate(latest)  # today's code runs against today's schema
    with django_capture_on_commit_callbacks(execute=True):
        signup_complete(user=User.objects.get(email="w@example.org"))
    assert mail.outbox == []
