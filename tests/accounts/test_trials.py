from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import override_settings

from accounts.identity import identity_hash, normalise_email
from accounts.models import TrialClaim
from accounts.services import EmailAlreadyRegistered, reader_trial_start, trial_claim_verify
from subscriptions.models import AuditEntry, Subscription
from subscriptions.selectors import entitlement_for_user
from subscriptions.services.trials import TrialAlreadyUsed, trial_cancel
from subscriptions.vocabulary import AuditAction
from tests.factories import ArticleFactory, UserFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
FULL_WIDTH_ANN = "\uff41\uff4e\uff4e\uff20\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45.org"


@pytest.mark.parametrize(
    ("typed", "normalised"),
    [
        ("Foo.Bar+x@gmail.com", "foobar@gmail.com"),
        ("foobar@googlemail.com", "foobar@gmail.com"),
        ("F.O.O.B.A.R@GoogleMail.COM", "foobar@gmail.com"),
        ("  Ann+news@Example.org ", "ann@example.org"),
        ("ann.lee@example.org", "ann.lee@example.org"),
        ("not-an-email", "not-an-email"),
        # RFC 5321: a quoted local part names the same mailbox as the unquoted one
        ('"alice"@example.org', "alice@example.org"),
        ('"bob.smith"@gmail.com', "bobsmith@gmail.com"),
        ('"Ann+x"@Example.org', "ann@example.org"),
        ('"a\\"b"@example.org', 'a"b@example.org'),
        # IDNA: a Unicode domain and its punycode are one domain
        ("ann@bücher.de", "ann@xn--bcher-kva.de"),
        ("ann@BÜCHER.de", "ann@xn--bcher-kva.de"),
        ("ann@xn--bcher-kva.de", "ann@xn--bcher-kva.de"),
        ("ann@example.org.", "ann@example.org"),
        # Unicode NFKC: full-width and compatibility forms fold to the plain ones
        (FULL_WIDTH_ANN, "ann@example.org"),
        ("\ufb01ona@example.org", "fiona@example.org"),
        ("bu\u0308cher@example.org", "bücher@example.org"),
    ],
)
def test_normalise_email(typed, normalised):
    assert normalise_email(typed) == normalised


def test_identity_hash_is_the_same_for_every_variant_and_hides_the_email():
    digest = identity_hash("foobar@googlemail.com")
    assert digest == identity_hash("Foo.Bar+x@gmail.com")
    assert len(digest) == 64
    assert "foobar" not in digest


@time_machine.travel(NOW, tick=False)
def test_trial_start_makes_a_trialing_subscription_for_trial_days():
    user = UserFactory()
    sub = reader_trial_start(user=user)
    assert sub.status == "trialing"
    assert sub.trial_started_at == NOW
    assert sub.trial_ends_at == NOW + timedelta(days=14)
    entry = AuditEntry.objects.get(subscription=sub)
    assert (entry.action, entry.to_status, entry.source) == (
        AuditAction.TRIAL_STARTED,
        "trialing",
        "trial",
    )
    claim = TrialClaim.objects.get(user=user)
    assert claim.identity_hash == identity_hash(user.email)


@override_settings(TRIAL_DAYS=30)
@time_machine.travel(NOW, tick=False)
def test_trial_length_follows_the_setting():
    assert reader_trial_start(user=UserFactory()).trial_ends_at == NOW + timedelta(days=30)


def test_trial_records_the_article_it_came_from():
    article = ArticleFactory(slug="big-story")
    user = UserFactory()
    reader_trial_start(user=user, from_article_slug="big-story")
    claim = TrialClaim.objects.get(user=user)
    assert claim.article == article
    assert claim.article_slug == "big-story"
    assert AuditEntry.objects.get().detail["from_article"] == "big-story"


def test_unknown_attribution_is_ignored():
    user = UserFactory()
    reader_trial_start(user=user, from_article_slug="no-such-story")
    claim = TrialClaim.objects.get(user=user)
    assert claim.article is None
    assert claim.article_slug == ""


def test_a_second_trial_for_the_same_reader_is_refused():
    user = UserFactory()
    reader_trial_start(user=user)
    with pytest.raises(TrialAlreadyUsed):
        reader_trial_start(user=user)
    assert Subscription.objects.count() == 1


def test_a_gmail_variant_of_a_live_account_is_refused():
    reader_trial_start(user=UserFactory(email="foobar@googlemail.com"))
    other = UserFactory(email="Foo.Bar+x@gmail.com")
    with pytest.raises(EmailAlreadyRegistered):
        reader_trial_start(user=other)
    assert not Subscription.objects.filter(user=other, status="trialing").exists()


def test_a_deleted_verified_readers_claim_still_blocks_a_second_trial():
    first = UserFactory(email="ann@example.org")
    reader_trial_start(user=first)
    trial_claim_verify(user=first, email="ann@example.org")
    first.delete()
    with pytest.raises(TrialAlreadyUsed):
        reader_trial_start(user=UserFactory(email="Ann+again@example.org"))


def test_an_unverified_claim_gives_way_once_its_account_left_the_address():
    squatter = UserFactory(email="ann@example.org")
    reader_trial_start(user=squatter)
    squatter.email = "mallory@evil.test"
    squatter.save()
    owner = UserFactory(email="Ann+real@example.org")
    assert reader_trial_start(user=owner).status == "trialing"
    claim = TrialClaim.objects.get()
    assert claim.user == owner
    assert claim.verified_at is None


def test_entitled_until_one_second_before_the_end_and_not_at_it():
    user = UserFactory()
    with time_machine.travel(NOW, tick=False):
        reader_trial_start(user=user)
    end = NOW + timedelta(days=14)
    with time_machine.travel(end - timedelta(seconds=1), tick=False):
        ent = entitlement_for_user(user_id=user.pk)
        assert (ent.entitled, ent.reason) == (True, "trial")
    with time_machine.travel(end, tick=False):
        # No expiry job has run: the row still says trialing, but access has ended.
        assert Subscription.objects.get(user=user).status == "trialing"
        assert entitlement_for_user(user_id=user.pk).entitled is False


def test_trial_cancel_ends_the_trial_at_once():
    user = UserFactory()
    reader_trial_start(user=user)
    sub = trial_cancel(user=user)
    assert sub.status == "canceled"
    assert entitlement_for_user(user_id=user.pk).entitled is False
    assert list(AuditEntry.objects.values_list("action", flat=True)) == [
        AuditAction.TRIAL_CANCELED,
        AuditAction.TRIAL_STARTED,
    ]


def test_trial_cancel_without_a_trial_is_refused():
    from config.exceptions import ApplicationError

    with pytest.raises(ApplicationError) as refused:
        trial_cancel(user=UserFactory())
    assert (refused.value.code, refused.value.status_code) == ("nothing_to_cancel", 409)


def test_a_stripe_billed_trial_is_not_cancelled_here():
    from config.exceptions import ApplicationError

    user = UserFactory()
    sub = reader_trial_start(user=user)
    Subscription.objects.filter(pk=sub.pk).update(stripe_subscription_id="sub_123")
    with pytest.raises(ApplicationError):
        trial_cancel(user=user)
    assert Subscription.objects.get(pk=sub.pk).status == "trialing"
