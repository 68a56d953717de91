"""Paywall rules edited in the admin take effect on the next view, however they change."""

from __future__ import annotations

import pytest

from subscriptions.models import AccessRule
from subscriptions.paywall import rules
from tests.factories import ArticleFactory, PublicationFactory

pytestmark = pytest.mark.django_db


def _level(api_client, article) -> str:
    level: str = api_client.get(f"/api/v1/articles/{article.slug}/").json()["access"]["level"]
    return level


def test_deleting_one_rule_in_the_admin_takes_effect_on_the_next_view(admin_client, api_client):
    pub = PublicationFactory()
    article = ArticleFactory(publication=pub)
    rule = rules.rule_set(scope="publication", target_id=pub.pk, access_level="premium")
    assert _level(api_client, article) == "premium"  # the resolution is now cached

    response = admin_client.post(
        f"/admin/subscriptions/accessrule/{rule.pk}/delete/", {"post": "yes"}
    )
    assert response.status_code == 302
    assert _level(api_client, article) == "metered"


def test_bulk_deleting_rules_in_the_admin_takes_effect_on_the_next_view(admin_client, api_client):
    pubs = PublicationFactory.create_batch(2)
    articles = [ArticleFactory(publication=pub) for pub in pubs]
    chosen = [
        rules.rule_set(scope="publication", target_id=pub.pk, access_level="premium")
        for pub in pubs
    ]
    kept = rules.rule_set(scope="site", access_level="registered")
    assert [_level(api_client, a) for a in articles] == ["premium", "premium"]

    response = admin_client.post(
        "/admin/subscriptions/accessrule/",
        {
            "action": "delete_selected",
            "_selected_action": [str(rule.pk) for rule in chosen],
            "post": "yes",
        },
    )
    assert response.status_code == 302
    assert list(AccessRule.objects.all()) == [kept]
    assert [_level(api_client, a) for a in articles] == ["registered", "registered"]
