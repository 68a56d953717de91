"""Sign-up squatting: an address nobody has verified never locks its owner out.

A trial claim binds its address (no second trial, "already registered") only once the
address is verified, or while the claiming account still holds the address (then the
owner recovers the account with a password reset). An unverified claim whose account
has left the address (email changed, account deleted) gives way to the next sign-up.
"""

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client

from accounts.models import TrialClaim
from accounts.services import account_delete
from subscriptions.models import Subscription
from tests.mailbox import link_in

pytestmark = pytest.mark.django_db

User = get_user_model()
GOOD_PASSWORD = "correct horse battery staple"
VICTIM = "victim@example.org"


def web_signup(client, email):
    return client.post("/signup/", {"email": email, "password1": GOOD_PASSWORD})


def confirm_link(email: str) -> str:
    message = [m for m in mail.outbox if email in m.to and "confirm" in m.subject.lower()][-1]
    return link_in(r"http://testserver(/accounts/confirm-email/\S+/)", message)


def change_email(client, capture, new_email):
    """allauth's change-email flow: add the new address, confirm it (it replaces the old)."""
    with capture(execute=True):
        assert client.post("/accounts/email/", {"action_add": "", "email": new_email}).status_code
    with capture(execute=True):
        assert client.post(confirm_link(new_email)).status_code == 302


def verify(client, capture, email):
    with capture(execute=True):
        client.post("/accounts/email/", {"action_send": "", "email": email})
    with capture(execute=True):
        assert client.post(confirm_link(email)).status_code == 302


def trialing(email: str) -> bool:
    return Subscription.objects.filter(user__email=email, status="trialing").exists()


@pytest.mark.parametrize("victim_signs_up_on", ["web", "api"])
def test_a_squatter_who_changes_email_does_not_lock_the_owner_out(
    api_client, django_capture_on_commit_callbacks, victim_signs_up_on
):
    mallory = Client()
    with django_capture_on_commit_callbacks(execute=True):
        assert web_signup(mallory, VICTIM).status_code == 302
    assert trialing(VICTIM)
    change_email(mallory, django_capture_on_commit_callbacks, "mallory@evil.test")
    assert User.objects.filter(email="mallory@evil.test").exists()
    assert not User.objects.filter(email=VICTIM).exists()

    # the owner signs up with their address and gets their own trial
    if victim_signs_up_on == "web":
        assert web_signup(Client(), VICTIM).status_code == 302
    else:
        response = api_client.post(
            "/api/v1/auth/signup/", {"email": VICTIM, "password": GOOD_PASSWORD}, format="json"
        )
        assert response.status_code == 201, response.content
        assert response.json()["user"]["subscription"]["status"] == "trialing"
    assert trialing(VICTIM)
    assert TrialClaim.objects.get().user == User.objects.get(email=VICTIM)
    # and can reset their password like anyone
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        Client().post("/accounts/password/reset/", {"email": VICTIM})
    assert any(VICTIM in m.to and "password" in m.subject.lower() for m in mail.outbox)


def test_a_squatter_who_deletes_the_account_does_not_spend_the_owners_trial(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        web_signup(Client(), VICTIM)
    account_delete(user=User.objects.get(email=VICTIM), password=GOOD_PASSWORD)
    assert web_signup(Client(), VICTIM).status_code == 302
    assert trialing(VICTIM)


def test_a_verified_address_still_gets_one_trial_only(django_capture_on_commit_callbacks):
    ann = Client()
    with django_capture_on_commit_callbacks(execute=True):
        web_signup(ann, "ann@example.org")
    verify(ann, django_capture_on_commit_callbacks, "ann@example.org")
    assert TrialClaim.objects.get().verified_at is not None
    change_email(ann, django_capture_on_commit_callbacks, "ann@elsewhere.test")
    response = web_signup(Client(), "Ann+again@example.org")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"
    assert not User.objects.filter(email="ann+again@example.org").exists()


def test_a_verified_reader_who_deleted_the_account_gets_no_second_trial(
    django_capture_on_commit_callbacks,
):
    ann = Client()
    with django_capture_on_commit_callbacks(execute=True):
        web_signup(ann, "ann@example.org")
    verify(ann, django_capture_on_commit_callbacks, "ann@example.org")
    account_delete(user=User.objects.get(), password=GOOD_PASSWORD)
    assert web_signup(Client(), "ann@example.org").status_code == 302
    assert User.objects.filter(email="ann@example.org").exists()
    assert not trialing("ann@example.org")


def test_while_the_squatter_holds_the_address_the_owner_recovers_it_by_reset(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        web_signup(Client(), VICTIM)
    mail.outbox.clear()
    owner = Client()
    with django_capture_on_commit_callbacks(execute=True):
        owner.post("/accounts/password/reset/", {"email": VICTIM})
    reset = next(m for m in mail.outbox if VICTIM in m.to)
    url = link_in(r"http://testserver(/accounts/password/reset/key/\S+/)", reset)
    form_url = owner.get(url)["Location"]
    response = owner.post(
        form_url, {"password1": "a new horse battery", "password2": "a new horse battery"}
    )
    assert response.status_code == 302
    assert owner.login(email=VICTIM, password="a new horse battery")
    assert trialing(VICTIM)
    assert EmailAddress.objects.filter(email=VICTIM).exists()


def test_the_migration_marks_claims_made_before_verification_mattered():
    """Existing claims: verified where the account has a verified address of the same
    identity; a deleted account's claim stays binding (made under the old rule)."""
    import importlib

    from django.apps import apps
    from django.utils import timezone

    from accounts.identity import identity_hash
    from tests.factories import UserFactory

    migration = importlib.import_module("accounts.migrations.0005_trial_claim_verified_at")
    now = timezone.now()
    verified, unverified = UserFactory(email="v@example.org"), UserFactory(email="u@example.org")
    EmailAddress.objects.create(user=verified, email="V@example.org", verified=True, primary=True)
    EmailAddress.objects.create(user=unverified, email="u@example.org", verified=False)
    for user, email in (
        (verified, "v@example.org"),
        (unverified, "u@example.org"),
        (None, "d@x.org"),
    ):
        TrialClaim.objects.create(identity_hash=identity_hash(email), user=user, claimed_at=now)
    migration.mark_existing_claims(apps, None)
    marked = {c.identity_hash: c.verified_at for c in TrialClaim.objects.all()}
    assert marked[identity_hash("v@example.org")] == now
    assert marked[identity_hash("u@example.org")] is None
    assert marked[identity_hash("d@x.org")] == now
