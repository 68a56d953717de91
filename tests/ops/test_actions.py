"""The dashboard's actions without Stripe: confirmation form, required reason, once-only
key, audit (who, when, what, why, before/after), and bad input changing nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone

from accounts.selectors import account_summary
from subscriptions.models import (
    AuditEntry,
    Notification,
    StaffAction,
    StripeEvent,
    Subscription,
)
from subscriptions.services import staff_actions
from tests.factories import UserFactory

from .conftest import local_trial

pytestmark = pytest.mark.django_db


@pytest.fixture
def reader():
    return UserFactory(email="reader@example.com")


@pytest.fixture
def trial(reader):
    return local_trial(reader, days_left=3)


def url(sub: Subscription, action: str) -> str:
    return f"/ops/subscribers/{sub.pk}/{action}/"


def snapshot(sub: Subscription) -> tuple:
    sub = Subscription.objects.get(pk=sub.pk)
    return (
        sub.status,
        sub.trial_ends_at,
        sub.complimentary_until,
        sub.cancel_at_period_end,
        AuditEntry.objects.count(),
        StaffAction.objects.count(),
    )


# --- extend trial ----------------------------------------------------------------------
def test_extend_trial_through_the_form_is_audited_and_seen_by_the_reader(
    ops_client, ops_user, trial, reader
):
    ends = trial.trial_ends_at
    form = ops_client.get(url(trial, "extend-trial"))
    assert form.status_code == 200
    key = form.context["form"].initial["key"]
    assert len(key) == 32
    response = ops_client.post(
        url(trial, "extend-trial"), {"days": "7", "reason": "Ticket 42: app outage", "key": key}
    )
    assert response.status_code == 302
    assert response["Location"] == f"/ops/subscribers/{trial.pk}/"
    sub = Subscription.objects.get(pk=trial.pk)
    assert sub.status == "trialing"
    assert sub.trial_ends_at == ends + timedelta(days=7)
    done = StaffAction.objects.get()
    assert (done.action, done.actor, done.reason, done.subscription_id) == (
        "trial.extended",
        ops_user,
        "Ticket 42: app outage",
        trial.pk,
    )
    assert done.before["trial_ends_at"] == ends.isoformat()
    assert done.after["trial_ends_at"] == (ends + timedelta(days=7)).isoformat()
    entry = AuditEntry.objects.filter(subscription=trial).first()
    assert entry is not None
    assert (entry.action, entry.source, entry.actor) == ("trial.extended", "ops", ops_user)
    # The reader sees it: me/ (the account summary) counts ten days left now.
    assert account_summary(user=reader)["subscription"]["trial_days_left"] == 10
    page = ops_client.get(f"/ops/subscribers/{trial.pk}/")
    assert b"The trial now ends on" in page.content
    assert b"Ticket 42: app outage" in page.content


def test_a_double_submit_does_one_thing(ops_client, trial):
    ends = trial.trial_ends_at
    data = {"days": "5", "reason": "goodwill", "key": "same-key-twice"}
    assert ops_client.post(url(trial, "extend-trial"), data).status_code == 302
    second = ops_client.post(url(trial, "extend-trial"), data, follow=True)
    assert b"already submitted" in second.content
    assert Subscription.objects.get(pk=trial.pk).trial_ends_at == ends + timedelta(days=5)
    assert StaffAction.objects.count() == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"days": "-3", "reason": "r"}, b"greater than or equal to 1"),
        ({"days": "0", "reason": "r"}, b"greater than or equal to 1"),
        ({"days": "abc", "reason": "r"}, b"Enter a whole number"),
        ({"days": "999", "reason": "r"}, b"less than or equal to 90"),
        ({"days": "3", "reason": ""}, b"This field is required"),
        ({"days": "3", "reason": "   "}, b"This field is required"),
        ({"days": "3", "reason": "r", "key": ""}, b"This form has expired"),
    ],
)
def test_bad_input_is_a_clear_400_and_changes_nothing(ops_client, trial, data, message):
    before = snapshot(trial)
    response = ops_client.post(url(trial, "extend-trial"), {"key": "k", **data})
    assert response.status_code == 400
    assert message in response.content
    assert snapshot(trial) == before


def test_only_a_running_trial_is_extended(ops_client, reader):
    sub = local_trial(reader)
    Subscription.objects.filter(pk=sub.pk).update(status="expired")
    before = snapshot(sub)
    response = ops_client.post(url(sub, "extend-trial"), {"days": "3", "reason": "r", "key": "k"})
    assert response.status_code == 400
    assert b"Only a running trial can be extended" in response.content
    assert snapshot(sub) == before


def test_unknown_subscription_or_action_is_404(ops_client, trial):
    data = {"days": "3", "reason": "r", "key": "k"}
    assert ops_client.post("/ops/subscribers/999999/extend-trial/", data).status_code == 404
    assert ops_client.post(url(trial, "delete-everything"), data).status_code == 404
    assert not StaffAction.objects.exists()


def test_actions_on_a_deleted_account_are_refused(ops_user, trial, reader):
    reader.delete()
    before = snapshot(trial)
    with pytest.raises(staff_actions.ApplicationError, match="deleted their account"):
        staff_actions.trial_extend(
            subscription_id=trial.pk, days=3, reason="r", actor_id=ops_user.pk, key="k"
        )
    assert snapshot(trial) == before


def test_the_deleted_account_form_is_refused_too(ops_client, trial, reader):
    reader.delete()
    before = snapshot(trial)
    response = ops_client.post(url(trial, "extend-trial"), {"days": "3", "reason": "r", "key": "k"})
    assert response.status_code == 400
    assert b"deleted their account" in response.content
    assert snapshot(trial) == before


# --- complimentary -----------------------------------------------------------------------
def test_grant_complimentary_until_a_date(ops_client, ops_user, trial, reader):
    until = timezone.now().date() + timedelta(days=30)
    response = ops_client.post(
        url(trial, "grant-complimentary"),
        {"until": until.isoformat(), "reason": "Press pass", "key": "k-comp"},
    )
    assert response.status_code == 302
    sub = Subscription.objects.get(pk=trial.pk)
    assert sub.status == "complimentary"
    assert sub.complimentary_until is not None
    assert sub.complimentary_until.date() == until + timedelta(days=1)
    summary = account_summary(user=reader)
    assert (summary["entitled"], summary["entitlement_reason"]) == (True, "complimentary")
    done = StaffAction.objects.get()
    assert (done.before["status"], done.after["status"]) == ("trialing", "complimentary")


@pytest.mark.parametrize(
    ("until", "message"),
    [
        ("2020-01-01", b"today or later"),
        ("31/12/2030", b"Enter a valid date"),
        ("2030-02-30", b"Enter a valid date"),
        ("", b"This field is required"),
        ("2099-01-01", b"three years"),
    ],
)
def test_complimentary_bad_dates(ops_client, trial, until, message):
    before = snapshot(trial)
    response = ops_client.post(
        url(trial, "grant-complimentary"), {"until": until, "reason": "r", "key": "k"}
    )
    assert response.status_code == 400
    assert message in response.content
    assert snapshot(trial) == before


# --- cancel --------------------------------------------------------------------------------
def test_cancel_a_local_trial_now(ops_client, trial, reader):
    response = ops_client.post(url(trial, "cancel"), {"when": "now", "reason": "r", "key": "k"})
    assert response.status_code == 302
    assert Subscription.objects.get(pk=trial.pk).status == "canceled"
    assert account_summary(user=reader)["entitled"] is False


def test_a_local_trial_has_no_period_end_and_nothing_is_not_cancelable(ops_client, trial):
    before = snapshot(trial)
    response = ops_client.post(
        url(trial, "cancel"), {"when": "period_end", "reason": "r", "key": "k"}
    )
    assert response.status_code == 400
    assert b"no billing period" in response.content
    assert snapshot(trial) == before
    Subscription.objects.filter(pk=trial.pk).update(status="expired")
    before = snapshot(trial)
    response = ops_client.post(url(trial, "cancel"), {"when": "now", "reason": "r", "key": "k"})
    assert response.status_code == 400
    assert b"nothing to cancel" in response.content
    assert snapshot(trial) == before


# --- Stripe-only actions without Stripe ------------------------------------------------------
def test_refund_and_resync_without_stripe_are_clear(ops_client, trial, settings):
    settings.STRIPE_SECRET_KEY = None
    settings.STRIPE_API_BASE = None
    before = snapshot(trial)
    refund = ops_client.post(url(trial, "refund"), {"reason": "r", "key": "k1"})
    assert refund.status_code == 400
    assert b"no payment to refund" in refund.content
    resync = ops_client.post(url(trial, "resync"), {"reason": "r", "key": "k2"})
    assert resync.status_code == 400
    assert b"not billed through Stripe" in resync.content
    assert snapshot(trial) == before


# --- emails --------------------------------------------------------------------------------
def test_resend_an_owed_email(ops_client, trial, reader):
    note = Notification.objects.create(
        user=reader,
        kind="trial_ending",
        period="2026-12-06",
        created_at=timezone.now(),
        status="failed",
        error="SMTP down",
    )
    page = ops_client.get(url(trial, "resend-email"))
    assert b"trial_ending (2026-12-06)" in page.content
    response = ops_client.post(
        url(trial, "resend-email"), {"notification": str(note.pk), "reason": "r", "key": "k"}
    )
    assert response.status_code == 302
    note.refresh_from_db()
    assert note.status == "sent"
    assert [m.to for m in mail.outbox] == [["reader@example.com"]]
    again = ops_client.post(
        url(trial, "resend-email"), {"notification": str(note.pk), "reason": "r", "key": "k2"}
    )
    assert again.status_code == 400  # a sent email is no longer a choice
    assert len(mail.outbox) == 1


def test_another_readers_email_is_not_a_choice(ops_client, trial):
    other = Notification.objects.create(
        user=UserFactory(),
        kind="trial_ending",
        period="x",
        created_at=timezone.now(),
    )
    response = ops_client.post(
        url(trial, "resend-email"), {"notification": str(other.pk), "reason": "r", "key": "k"}
    )
    assert response.status_code == 400
    assert Notification.objects.get(pk=other.pk).status == "pending"
    assert not StaffAction.objects.exists()


# --- webhook replay ---------------------------------------------------------------------
def test_replay_a_failed_webhook_event(ops_client, settings):
    settings.STRIPE_SECRET_KEY = None
    settings.STRIPE_API_BASE = None
    event = StripeEvent.objects.create(
        stripe_id="evt_replay",
        type="invoice.payment_action_required",
        payload={"id": "evt_replay", "data": {"object": {"id": "in_9", "subscription": None}}},
        created=timezone.now(),
        status="failed",
        error="boom",
    )
    listing = ops_client.get("/ops/events/")
    assert b"evt_replay" in listing.content
    assert b"/ops/events/evt_replay/replay/" in listing.content
    response = ops_client.post("/ops/events/evt_replay/replay/", {"reason": "fixed", "key": "k"})
    assert response.status_code == 302
    event.refresh_from_db()
    assert event.status == "processed"
    done = StaffAction.objects.get()
    assert (done.target, done.before["status"], done.after["status"]) == (
        "evt_replay",
        "failed",
        "processed",
    )
    again = ops_client.post("/ops/events/evt_replay/replay/", {"reason": "r", "key": "k2"})
    assert again.status_code == 400
    assert b"Only a failed or pending event" in again.content
    assert ops_client.get("/ops/events/evt_nope/replay/").status_code == 404
    # A NUL reached the lookup: PostgreSQL refused it (DataError), a 500.
    assert ops_client.get("/ops/events/evt_replay%00/replay/").status_code == 404
    nul = ops_client.post("/ops/events/evt%00/replay/", {"reason": "r", "key": "k3"})
    assert nul.status_code == 404


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL: the in-memory SQLite test database locks whole tables",
)
@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_submits_of_one_form_do_one_thing(ops_user, reader):
    """Both requests race past the early check; the unique key lets one through."""
    import threading

    sub = local_trial(reader)
    ends = sub.trial_ends_at
    assert ends is not None
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def submit() -> None:
        try:
            start.wait()
            staff_actions.trial_extend(
                subscription_id=sub.pk, days=2, reason="race", actor_id=ops_user.pk, key="one-form"
            )
            outcomes.append("done")
        except staff_actions.AlreadyDone:
            outcomes.append("already")
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["already", "done"]
    assert Subscription.objects.get(pk=sub.pk).trial_ends_at == ends + timedelta(days=2)
    assert StaffAction.objects.count() == 1


def test_the_form_states_the_trial_end_only_while_in_a_trial(ops_client, trial):
    page = ops_client.get(url(trial, "cancel")).content.decode()
    assert "Now: <strong>Free trial</strong>, trial ends" in page
    Subscription.objects.filter(pk=trial.pk).update(
        status="past_due", past_due_since=timezone.now()
    )
    page = ops_client.get(url(trial, "cancel")).content.decode()
    assert "Now: <strong>Payment overdue</strong>." in page  # an old trial's end is no news
