"""The demo catalogue generator and `load_demo` (devtools: never installed in production)."""

from __future__ import annotations

import re
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.utils import timezone

from articles.models import (
    Article,
    ArticleAccess,
    EditorialPick,
    Publication,
    Publisher,
    PublisherStaff,
    Topic,
)
from articles.services import sanitise_body
from devtools import demo
from subscriptions.models import Plan

# The history (tests/devtools/test_demo_history.py) is left out of the catalogue's tests.
SMALL = {"publishers": 4, "publications": 12, "articles": 200}
NO_HISTORY = {"readers": 0}


def _load(**sizes: Any) -> str:
    out = StringIO()
    call_command("load_demo", stdout=out, **{**SMALL, **NO_HISTORY, **sizes})
    return out.getvalue()


def _counts() -> dict[str, int]:
    return {
        "publishers": Publisher.objects.count(),
        "publications": Publication.objects.count(),
        "topics": Topic.objects.count(),
        "articles": Article.objects.count(),
        "topic_links": Article.topics.through.objects.count(),
        "picks": EditorialPick.objects.count(),
        "plans": Plan.objects.count(),
        "users": get_user_model().objects.count(),
        "staff": PublisherStaff.objects.count(),
        "groups": Group.objects.count(),
    }


def test_default_catalogue_is_large_distinct_and_deterministic() -> None:
    catalogue = demo.build_catalogue()
    assert len(catalogue.publishers) == 30
    assert len({p.name for p in catalogue.publications}) == 120
    assert len({p.slug for p in catalogue.publications}) == 120
    assert len(catalogue.articles) >= 5000
    assert len({a.slug for a in catalogue.articles}) == len(catalogue.articles)
    assert [name for _, name in catalogue.topics] == list(demo.TOPICS)
    assert len(catalogue.topics) == 20
    assert demo.build_catalogue() == catalogue
    assert demo.build_catalogue(seed=7).articles[0].slug != catalogue.articles[0].slug


@pytest.mark.django_db
def test_load_demo_small_catalogue() -> None:
    output = _load()

    assert Publisher.objects.count() == 4
    assert Publication.objects.count() == 12
    assert Topic.objects.count() == 20
    assert Article.objects.count() == 200
    assert set(Article.objects.values_list("access_level", flat=True)) == set(ArticleAccess.values)

    now = timezone.now()
    for article in Article.objects.prefetch_related("topics"):
        assert 1 <= len(article.topics.all()) <= 3
        assert 0 <= article.news_value <= 100
        assert (
            now - timedelta(days=demo.WINDOW_DAYS * demo.AGE_STRETCH) <= article.published_at <= now
        )
        assert 5 <= article.body.count("<p>") <= 9
        assert sanitise_body(article.body) == article.body
        assert article.title and article.standfirst.endswith(".") and article.author
    for publication in Publication.objects.all():
        assert re.fullmatch(r"#[0-9a-f]{6}", publication.brand_colour)

    picks = list(EditorialPick.objects.order_by("position"))
    assert [p.position for p in picks] == list(range(8))
    assert all(p.starts_at <= now and (p.ends_at is None or p.ends_at > now) for p in picks)

    monthly = Plan.objects.get(code="monthly")
    yearly = Plan.objects.get(code="yearly")
    assert (monthly.name, monthly.interval, monthly.amount, monthly.currency) == (
        "Monthly",
        "month",
        999,
        "gbp",
    )
    assert monthly.stripe_price_id == "price_masthead_monthly"
    assert (yearly.interval, yearly.amount, yearly.stripe_price_id) == (
        "year",
        9900,
        "price_masthead_yearly",
    )

    users = get_user_model().objects
    ops = users.get(email="ops@masthead.local")
    assert ops.is_staff and ops.groups.filter(name="ops").exists()
    assert ops.check_password("masthead-ops")
    admin = users.get(email="admin@masthead.local")
    assert admin.is_superuser and admin.is_staff and admin.check_password("masthead-admin")
    reader = users.get(email="reader@masthead.local")
    assert not reader.is_staff and reader.check_password("masthead-reader")
    assert reader.subscription.status == "trialing"  # for the ops dashboard to find
    assert ops.has_perm("subscriptions.extend_trial")
    publisher_user = users.get(email="publisher@masthead.local")
    assert publisher_user.check_password("masthead-publisher")
    first = demo.build_catalogue(**SMALL).publishers[0].slug
    assert PublisherStaff.objects.filter(user=publisher_user, publisher__slug=first).exists()

    for account in demo.DEMO_ACCOUNTS:
        assert account.email in output and account.password in output


@pytest.mark.django_db
def test_load_demo_is_idempotent_and_deterministic() -> None:
    _load()
    first_counts = _counts()
    first_titles = sorted(Article.objects.values_list("slug", "title"))

    output = _load()
    assert _counts() == first_counts
    assert sorted(Article.objects.values_list("slug", "title")) == first_titles
    assert "(0 new)" in output

    expected = demo.build_catalogue(**SMALL)
    assert sorted((a.slug, a.title) for a in expected.articles) == first_titles
    assert sorted(Publication.objects.values_list("slug", flat=True)) == sorted(
        p.slug for p in expected.publications
    )


@pytest.mark.django_db
def test_load_demo_never_resets_an_existing_accounts_password_or_roles() -> None:
    """A rerun (or an account someone signed up with the demo's address first) keeps its
    own password and gains no staff rights: the demo's passwords are published."""
    users = get_user_model().objects
    squatter = users.create_user(email="admin@masthead.local", password="squatters-own-pw")
    _load()
    reader = users.get(email="reader@masthead.local")
    reader.set_password("readers-new-pw")
    reader.is_staff = False
    reader.save()

    output = _load()

    squatter.refresh_from_db()
    assert squatter.check_password("squatters-own-pw")
    assert not squatter.is_staff and not squatter.is_superuser
    assert users.get(email="reader@masthead.local").check_password("readers-new-pw")
    assert "masthead-admin" not in output and "masthead-reader" not in output
    assert re.search(r"admin@masthead\.local\s+\(existing account with its own password", output)
    assert re.search(r"reader@masthead\.local\s+\(existing account with its own password", output)


@pytest.mark.django_db
def test_load_demo_rerun_still_says_how_to_sign_in_without_touching_passwords() -> None:
    """A second `make run` prints the demo passwords of the accounts that still have
    them, so a developer can sign in, and changes nothing."""
    _load()
    users = get_user_model().objects
    before = dict(users.values_list("email", "password"))

    output = _load()

    assert dict(users.values_list("email", "password")) == before
    for account in demo.DEMO_ACCOUNTS:
        assert re.search(rf"{re.escape(account.email)}\s+{account.password}\s", output)


@pytest.mark.django_db
def test_load_demo_refuses_production_settings(settings: Any) -> None:
    settings.IS_PRODUCTION = True
    with pytest.raises(CommandError, match="--allow-production"):
        _load()
    assert get_user_model().objects.count() == 0
    assert Article.objects.count() == 0


@pytest.mark.django_db
def test_load_demo_runs_in_production_only_when_told_explicitly(settings: Any) -> None:
    settings.IS_PRODUCTION = True
    _load(allow_production=True)
    assert Article.objects.count() == SMALL["articles"]


@pytest.mark.django_db
def test_load_demo_rejects_impossible_sizes() -> None:
    with pytest.raises(CommandError):
        _load(publishers=5, publications=3)


@pytest.mark.django_db
def test_demo_accounts_have_verified_addresses(client: Any) -> None:
    """Nobody was sent a confirmation email for them: the account page must not say so."""
    _load()
    for account in demo.DEMO_ACCOUNTS:
        assert EmailAddress.objects.filter(
            email=account.email, verified=True, primary=True
        ).exists()
    client.login(email="reader@masthead.local", password="masthead-reader")
    assert "sent you an email" not in client.get("/account/").content.decode()
