"""Two sign-ups for one person at the same moment: exactly one account, one trial.
Needs a server database (row locks and unique-index waits); skipped on SQLite."""

import threading

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from accounts.models import TrialClaim
from accounts.services import account_signup
from config.exceptions import ApplicationError
from subscriptions.models import Subscription

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL"),
]


EMAILS = ["foobar@gmail.com", "Foo.Bar+x@googlemail.com", "f.o.o.bar@gmail.com"]


def race_signups(emails: list[str]) -> list[str]:
    barrier = threading.Barrier(len(emails))
    outcomes: list[str] = []

    def sign_up(email: str) -> None:
        try:
            barrier.wait()
            account_signup(email=email, password="correct horse battery staple")
            outcomes.append("created")
        except ApplicationError as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=sign_up, args=(email,)) for email in emails]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


def test_racing_gmail_variants_make_one_account_and_one_trial():
    assert sorted(race_signups(EMAILS)) == ["created", "email_taken", "email_taken"]
    assert get_user_model().objects.count() == 1
    assert Subscription.objects.filter(status="trialing").count() == 1
    assert TrialClaim.objects.count() == 1


def test_racing_owners_for_a_released_claim_make_one_account_and_one_trial():
    """A squatter's unverified claim, left behind by an email change, gives way to one
    of the owner's simultaneous sign-ups only."""
    squatter = account_signup(email="foobar@gmail.com", password="correct horse battery staple")
    squatter.email = "mallory@evil.test"
    squatter.save()

    assert sorted(race_signups(EMAILS)) == ["created", "email_taken", "email_taken"]
    claim = TrialClaim.objects.select_related("user").get()
    assert claim.user is not None and claim.user.email in [e.lower() for e in EMAILS]
    assert get_user_model().objects.count() == 2
    assert Subscription.objects.filter(status="trialing", user=claim.user).count() == 1
