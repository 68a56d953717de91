"""Who may open each page and do each action of /ops/: ops staff and superusers; a
reader or publisher staff gets 403; anonymous visitors are sent to sign in."""

from __future__ import annotations

import pytest

from ops.views import ACTIONS
from subscriptions.models import StaffAction, StripeEvent, Subscription
from tests.factories import UserFactory

from .conftest import local_trial

pytestmark = pytest.mark.django_db


@pytest.fixture
def trial_sub():
    return local_trial(UserFactory(email="reader@example.com"))


@pytest.fixture
def failed_event():
    return StripeEvent.objects.create(
        stripe_id="evt_failed_1",
        type="invoice.paid",
        payload={"id": "evt_failed_1", "type": "invoice.paid", "data": {"object": {}}},
        created="2026-11-01T00:00:00Z",
        status="failed",
        error="boom",
    )


def pages(sub: Subscription, event: StripeEvent) -> list[str]:
    return [
        "/ops/",
        "/ops/metrics.csv",
        "/ops/search/?q=reader",
        f"/ops/subscribers/{sub.pk}/",
        "/ops/events/",
        f"/ops/events/{event.stripe_id}/replay/",
        *[f"/ops/subscribers/{sub.pk}/{slug}/" for slug in ACTIONS],
    ]


def posts(sub: Subscription, event: StripeEvent) -> list[tuple[str, dict[str, str]]]:
    form = {"reason": "asked by the reader", "key": "k-denied"}
    return [
        (f"/ops/subscribers/{sub.pk}/extend-trial/", {**form, "days": "7"}),
        (f"/ops/subscribers/{sub.pk}/grant-complimentary/", {**form, "until": "2030-01-01"}),
        (f"/ops/subscribers/{sub.pk}/cancel/", {**form, "when": "now"}),
        (f"/ops/subscribers/{sub.pk}/refund/", form),
        (f"/ops/subscribers/{sub.pk}/resync/", form),
        (f"/ops/subscribers/{sub.pk}/resend-email/", {**form, "notification": "1"}),
        (f"/ops/events/{event.stripe_id}/replay/", form),
    ]


def test_every_page_and_action_is_covered():
    assert set(ACTIONS) == {
        "extend-trial",
        "grant-complimentary",
        "cancel",
        "refund",
        "resync",
        "resend-email",
    }


def test_anonymous_is_sent_to_sign_in(client, trial_sub, failed_event):
    for url in pages(trial_sub, failed_event):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/login/?next=/ops/"), url
    for url, data in posts(trial_sub, failed_event):
        assert client.post(url, data).status_code == 302, url
    assert not StaffAction.objects.exists()


@pytest.mark.parametrize("who", ["reader", "publisher_staff", "plain_staff"])
def test_others_get_403_and_change_nothing(client, who, trial_sub, failed_event, request):
    if who == "reader":
        user = UserFactory()
    elif who == "publisher_staff":
        user = request.getfixturevalue("publisher_staff")
    elif who == "plain_staff":
        user = UserFactory(is_staff=True)  # staff, but not in the ops group
    client.force_login(user)
    for url in pages(trial_sub, failed_event):
        assert client.get(url).status_code == 403, url
    before = Subscription.objects.get(pk=trial_sub.pk).trial_ends_at
    for url, data in posts(trial_sub, failed_event):
        assert client.post(url, data).status_code == 403, url
    assert Subscription.objects.get(pk=trial_sub.pk).trial_ends_at == before
    assert StripeEvent.objects.get(pk=failed_event.pk).status == "failed"
    assert not StaffAction.objects.exists()


def test_a_deactivated_ops_account_is_signed_out(client, trial_sub, failed_event, ops_group):
    user = UserFactory(is_staff=True, is_active=False)
    user.groups.add(ops_group)
    client.force_login(user)
    for url in pages(trial_sub, failed_event):
        assert client.get(url).status_code == 302, url


@pytest.mark.parametrize("who", ["ops", "superuser"])
def test_ops_and_superusers_see_every_page(client, who, trial_sub, failed_event, request):
    if who == "ops":
        user = request.getfixturevalue("ops_user")
    else:
        user = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(user)
    for url in pages(trial_sub, failed_event):
        assert client.get(url).status_code == 200, url


def test_an_ops_member_without_an_action_permission_gets_403(
    client, trial_sub, failed_event, ops_group
):
    """The group's permissions decide each action: a group without one is refused it."""
    user = UserFactory(is_staff=True)
    user.groups.add(ops_group)
    group = ops_group
    group.permissions.remove(*group.permissions.filter(codename="extend_trial"))
    client.force_login(user)
    url = f"/ops/subscribers/{trial_sub.pk}/extend-trial/"
    assert client.get(url).status_code == 403
    data = {"reason": "r", "key": "k1", "days": "3"}
    assert client.post(url, data).status_code == 403
    assert client.get(f"/ops/subscribers/{trial_sub.pk}/resync/").status_code == 200


def test_ops_staff_can_use_the_admin(ops_client, trial_sub):
    """The migration's permissions: every model readable; subscriptions not editable there;
    no bulk delete anywhere."""
    index = ops_client.get("/admin/")
    assert index.status_code == 200
    assert b"have permission to view or edit anything" not in index.content
    for path in [
        "subscriptions/subscription",
        "subscriptions/stripeevent",
        "subscriptions/payment",
        "subscriptions/auditentry",
        "subscriptions/staffaction",
        "subscriptions/notification",
        "subscriptions/plan",
        "subscriptions/billingcustomer",
        "accounts/user",
        "articles/article",
    ]:
        page = ops_client.get(f"/admin/{path}/")
        assert page.status_code == 200, path
        assert b'value="delete_selected"' not in page.content, path
    # The subscription admin's bulk actions need the change permission, which ops lack:
    # their changes go through the dashboard's forms, with a reason.
    changelist = ops_client.get("/admin/subscriptions/subscription/")
    assert b'value="extend_trial"' not in changelist.content
    change = ops_client.get(f"/admin/subscriptions/subscription/{trial_sub.pk}/change/")
    assert change.status_code == 200
    assert b'name="status"' not in change.content  # read-only: changes go through services
    assert (
        ops_client.post(
            f"/admin/subscriptions/subscription/{trial_sub.pk}/delete/", {"post": "yes"}
        ).status_code
        == 403
    )
    assert Subscription.objects.filter(pk=trial_sub.pk).exists()
    search = ops_client.get("/admin/subscriptions/subscription/?q=reader@example.com")
    assert b"reader@example.com" in search.content


def test_readers_are_not_bulk_deleted_from_the_admin(admin_client):
    """Even a superuser deletes readers one at a time; records kept by the services
    (subscriptions, payments, events, the audit logs) cannot be deleted at all."""
    UserFactory()
    assert b'value="delete_selected"' not in admin_client.get("/admin/accounts/user/").content
    for path in ["subscription", "payment", "stripeevent", "staffaction", "auditentry"]:
        page = admin_client.get(f"/admin/subscriptions/{path}/")
        assert page.status_code == 200, path
        assert b'value="delete_selected"' not in page.content, path


def test_every_migrate_grants_the_ops_group_the_view_of_models_added_since(ops_group):
    """A model added by any app later (no ops migration of its own) is viewable after the
    next `migrate`: its post_migrate signal grants it."""
    from django.apps import apps
    from django.core.management.sql import emit_post_migrate_signal

    ops_group.permissions.remove(*ops_group.permissions.filter(codename__startswith="view_"))
    assert not ops_group.permissions.filter(codename="view_readrollupday").exists()
    emit_post_migrate_signal(verbosity=0, interactive=False, db="default")
    granted = set(ops_group.permissions.values_list("content_type__app_label", "codename"))
    for label in ("accounts", "articles", "subscriptions", "publishers"):
        for model in apps.get_app_config(label).get_models():
            assert (label, f"view_{model._meta.model_name}") in granted, model


def test_the_ops_group_may_view_every_model_of_ours(ops_group, ops_client):
    """Models made after the first grant (the publishers', the kept conversions) too."""
    from django.apps import apps

    granted = set(ops_group.permissions.values_list("content_type__app_label", "codename"))
    for label in ("accounts", "articles", "subscriptions", "publishers"):
        for model in apps.get_app_config(label).get_models():
            assert (label, f"view_{model._meta.model_name}") in granted, model
    for path in [
        "subscriptions/conversion",
        "publishers/ruleversion",
        "subscriptions/accessrule",
    ]:
        assert ops_client.get(f"/admin/{path}/").status_code == 200, path
