"""Paywall rules edited in the admin take effect on the next view, however they change,
and every change is a version in the title's history (or an audited site change)."""

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
    # Deleted = a new version that inherits every value (the history keeps the old one).
    assert [
        (r.access_level, r.free_articles_cap, r.preview_paragraphs)
        for r in AccessRule.objects.filter(pk__in=[r.pk for r in chosen])
    ] == [(None, None, None)] * 2
    assert AccessRule.objects.get(pk=kept.pk).access_level == "registered"
    assert [_level(api_client, a) for a in articles] == ["registered", "registered"]


def test_an_admin_change_of_a_title_rule_is_a_version_in_its_history(admin_client, admin_user):
    from publishers.models import RuleVersion
    from subscriptions.models import AuditEntry

    pub = PublicationFactory()
    rule = rules.rule_set(scope="publication", target_id=pub.pk, access_level="metered")
    response = admin_client.post(
        f"/admin/subscriptions/accessrule/{rule.pk}/change/",
        {
            "access_level": "premium",
            "free_articles_cap": "3",
            "preview_paragraphs": "",
            "note": "Election week",
        },
    )
    assert response.status_code == 302
    assert AccessRule.objects.get(pk=rule.pk).access_level == "premium"
    latest, original = RuleVersion.objects.filter(publication=pub).order_by("-number")
    assert (original.number, original.access_level) == (1, "metered")
    assert (latest.number, latest.access_level, latest.free_articles_cap) == (2, "premium", 3)
    assert (latest.created_by, latest.note) == (admin_user, "Election week")
    assert latest.before["access_level"] == "metered"
    entry = AuditEntry.objects.get(action="rule.published")
    assert (entry.publisher_id, entry.actor_id) == (pub.publisher_id, admin_user.pk)
    # … and the portal's history page lists it.
    from articles.models import PublisherStaff

    PublisherStaff.objects.create(user=admin_user, publisher=pub.publisher, role="admin")
    history = admin_client.get(
        f"/publisher/{pub.publisher.slug}/titles/{pub.slug}/rule/history/"
    ).content.decode()
    assert "Election week" in history


def test_adding_a_title_rule_in_the_admin_publishes_a_version(admin_client):
    from publishers.models import RuleVersion

    pub = PublicationFactory()
    article = ArticleFactory(publication=pub)
    response = admin_client.post(
        "/admin/subscriptions/accessrule/add/",
        {
            "scope": "publication",
            "publication": str(pub.pk),
            "access_level": "registered",
            "free_articles_cap": "",
            "preview_paragraphs": "",
        },
    )
    assert response.status_code == 302
    assert [v.access_level for v in RuleVersion.objects.filter(publication=pub)] == [
        "registered",
        None,
    ]
    assert rules.article_rule(article).level == "registered"


def test_a_bad_value_in_the_admin_changes_nothing(admin_client):
    from publishers.models import RuleVersion

    pub = PublicationFactory()
    rule = rules.rule_set(scope="publication", target_id=pub.pk, access_level="metered")
    response = admin_client.post(
        f"/admin/subscriptions/accessrule/{rule.pk}/change/",
        {"access_level": "premium", "free_articles_cap": "500", "preview_paragraphs": ""},
    )
    assert response.status_code == 200
    assert "free_articles_cap must be between 0 and 100" in response.content.decode()
    assert AccessRule.objects.get(pk=rule.pk).access_level == "metered"
    assert not RuleVersion.objects.exists()


def test_the_site_default_changed_in_the_admin_is_audited(admin_client, admin_user):
    from subscriptions.models import AuditEntry

    rule = rules.rule_set(scope="site", access_level="metered")
    admin_client.post(
        f"/admin/subscriptions/accessrule/{rule.pk}/change/",
        {"access_level": "registered", "free_articles_cap": "", "preview_paragraphs": "2"},
    )
    entry = AuditEntry.objects.get(action="rule.site_set")
    assert entry.actor_id == admin_user.pk
    assert entry.detail["before"]["access_level"] == "metered"
    assert entry.detail["after"] == {
        "access_level": "registered",
        "free_articles_cap": None,
        "preview_paragraphs": 2,
    }


def test_rule_versions_are_read_only_in_the_admin(admin_client):
    from publishers.models import RuleVersion

    pub = PublicationFactory()
    rule = rules.rule_set(scope="publication", target_id=pub.pk, access_level="metered")
    admin_client.post(
        f"/admin/subscriptions/accessrule/{rule.pk}/change/",
        {"access_level": "premium", "free_articles_cap": "", "preview_paragraphs": ""},
    )
    version = RuleVersion.objects.first()
    assert version is not None
    assert admin_client.get("/admin/publishers/ruleversion/").status_code == 200
    assert admin_client.get("/admin/publishers/ruleversion/add/").status_code == 403
    delete = admin_client.post(
        f"/admin/publishers/ruleversion/{version.pk}/delete/", {"post": "yes"}
    )
    assert delete.status_code == 403
    assert RuleVersion.objects.count() == 2
