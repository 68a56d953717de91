"""The publisher API: the contract's paths and fields, versions, rollback, roles, and
isolation between two publishers on every endpoint."""

from __future__ import annotations

import pytest
import time_machine
from django.test import Client

from publishers.models import RuleVersion
from subscriptions.models import AccessRule, AuditEntry
from tests.publishers.conftest import api_as

pytestmark = pytest.mark.django_db

RULE = {"access_level": "premium", "free_articles_cap": None, "preview_paragraphs": 1}


def endpoints(title_slug: str, article_slug: str) -> list[tuple[str, str, dict | None]]:
    base = "/api/v1/publisher/"
    rule = f"{base}publications/{title_slug}/rule/"
    return [
        ("get", f"{base}publications/", None),
        ("get", rule, None),
        ("put", rule, RULE),
        ("post", f"{rule}simulate/", RULE),
        ("get", f"{rule}versions/", None),
        ("post", f"{rule}rollback/", {"version": 1}),
        ("patch", f"{base}articles/{article_slug}/", {"access_level": "free"}),
        ("get", f"{base}stats/", None),
    ]


def call(client, method, url, body):
    return (
        getattr(client, method)(url, body, format="json") if body else getattr(client, method)(url)
    )


def test_anonymous_callers_get_401_with_the_token_challenge(side_a):
    for method, url, body in endpoints(side_a.title.slug, side_a.articles[0].slug):
        response = call(api_as(None), method, url, body)
        assert response.status_code == 401, url
        assert response["WWW-Authenticate"].startswith("Token"), url
        assert response.json()["code"] == "not_authenticated"


def test_readers_get_404_everywhere_and_nothing_changes(side_a, reader):
    for method, url, body in endpoints(side_a.title.slug, side_a.articles[0].slug):
        response = call(api_as(reader), method, url, body)
        assert response.status_code == 404, url
        assert response.json() == {"detail": "Not found.", "code": "not_found"}
    assert not AccessRule.objects.exists()
    assert not RuleVersion.objects.exists()
    side_a.articles[0].refresh_from_db()
    assert side_a.articles[0].access_level == "inherit"


@pytest.mark.parametrize("who", ["admin", "editor"])
def test_staff_of_one_publisher_get_404_for_the_others_objects(side_a, side_b, who):
    client = api_as(getattr(side_a, who))
    for method, url, body in endpoints(side_b.title.slug, side_b.articles[0].slug)[1:-1]:
        response = call(client, method, url, body)
        assert response.status_code == 404, url
    assert not AccessRule.objects.filter(publication=side_b.title).exists()
    side_b.articles[0].refresh_from_db()
    assert side_b.articles[0].access_level == "inherit"
    # The lists hold only their own titles.
    listed = client.get("/api/v1/publisher/publications/").json()
    assert [t["slug"] for t in listed] == [side_a.title.slug]
    stats = client.get("/api/v1/publisher/stats/").json()
    assert [r["publication"]["slug"] for r in stats["results"]] == [side_a.title.slug]


def test_publications_list_the_rules_and_where_each_value_comes_from(side_a, settings):
    settings.PAYWALL_DEFAULT_LEVEL = "metered"
    settings.PAYWALL_PREVIEW_PARAGRAPHS = 2
    AccessRule.objects.create(scope="publisher", publisher=side_a.publisher, free_articles_cap=3)
    AccessRule.objects.create(
        scope="publication", publication=side_a.title, access_level="registered"
    )
    [title] = api_as(side_a.admin).get("/api/v1/publisher/publications/").json()
    assert title["slug"] == side_a.title.slug
    assert title["publisher"] == {"slug": side_a.publisher.slug, "name": side_a.publisher.name}
    assert title["role"] == "admin"
    rule = title["rule"]
    assert rule["access_level"] == "registered"
    assert rule["free_articles_cap"] is None
    assert rule["resolved"] == {
        "access_level": "registered",
        "free_articles_cap": 3,
        "preview_paragraphs": 2,
    }
    assert rule["sources"] == {
        "access_level": "title",
        "free_articles_cap": "publisher",
        "preview_paragraphs": "site",
    }


def test_put_publishes_a_version_that_walls_the_next_anonymous_view(side_a):
    article = side_a.articles[0]
    assert Client().get(f"/api/v1/articles/{article.slug}/").json()["access"]["granted"] is True
    client = api_as(side_a.admin)
    response = client.put(
        f"/api/v1/publisher/publications/{side_a.title.slug}/rule/",
        {**RULE, "note": "Investigations go premium"},
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    assert body["access_level"] == "premium"
    assert body["resolved"]["access_level"] == "premium"
    assert body["version"] == 2
    access = Client().get(f"/api/v1/articles/{article.slug}/").json()["access"]
    assert access == {
        "granted": False,
        "reason": "subscribers_only",
        "level": "premium",
        "meter": None,
    }

    versions = client.get(
        f"/api/v1/publisher/publications/{side_a.title.slug}/rule/versions/"
    ).json()
    assert [v["version"] for v in versions] == [2, 1]
    assert versions[0]["live"] is True and versions[1]["live"] is False
    assert versions[0]["by"] == side_a.admin.email
    assert versions[0]["note"] == "Investigations go premium"
    assert versions[0]["before"] == {
        "access_level": None,
        "free_articles_cap": None,
        "preview_paragraphs": None,
    }
    assert {k: versions[0][k] for k in RULE} == RULE
    entry = AuditEntry.objects.get(action="rule.published")
    assert entry.publisher == side_a.publisher and entry.actor == side_a.admin
    assert entry.detail["after"] == RULE and entry.detail["version"] == 2


def test_rollback_restores_the_old_rule_as_a_new_version(side_a):
    client = api_as(side_a.admin)
    url = f"/api/v1/publisher/publications/{side_a.title.slug}/rule/"
    client.put(url, RULE, format="json")
    response = client.post(f"{url}rollback/", {"version": 1, "note": "too strict"}, format="json")
    assert response.status_code == 200
    assert response.json()["access_level"] is None
    assert response.json()["version"] == 3
    article = side_a.articles[0]
    assert Client().get(f"/api/v1/articles/{article.slug}/").json()["access"]["granted"] is True
    v3 = RuleVersion.objects.get(publication=side_a.title, number=3)
    assert v3.rolled_back_to == 1 and v3.note == "too strict"
    assert (
        AuditEntry.objects.filter(action="rule.rolled_back", publisher=side_a.publisher).count()
        == 1
    )


@pytest.mark.parametrize(
    "body, code",
    [
        ({**RULE, "access_level": "paid"}, "invalid_choice"),
        ({**RULE, "free_articles_cap": -1}, "min_value"),
        ({**RULE, "preview_paragraphs": 11}, "max_value"),
        ({**RULE, "preview_paragraphs": "two"}, "invalid"),
        ({"access_level": "premium"}, "required"),
        ([], "invalid"),
    ],
)
def test_bad_rules_are_400_and_change_nothing(side_a, body, code):
    response = api_as(side_a.admin).put(
        f"/api/v1/publisher/publications/{side_a.title.slug}/rule/", body, format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == code
    assert not AccessRule.objects.exists() and not RuleVersion.objects.exists()


def test_rollback_to_an_unknown_version_is_404_and_bad_bodies_400(side_a):
    url = f"/api/v1/publisher/publications/{side_a.title.slug}/rule/rollback/"
    client = api_as(side_a.admin)
    assert client.post(url, {"version": 7}, format="json").status_code == 404
    assert client.post(url, {"version": "x"}, format="json").status_code == 400
    assert client.post(url, {}, format="json").status_code == 400
    assert not RuleVersion.objects.exists()


def test_editors_may_override_articles_and_read_but_not_change_rules(side_a):
    client = api_as(side_a.editor)
    url = f"/api/v1/publisher/publications/{side_a.title.slug}/rule/"
    response = client.put(url, RULE, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "admin_only"
    assert client.post(f"{url}rollback/", {"version": 1}, format="json").status_code == 403
    assert client.get(url).status_code == 200
    assert not RuleVersion.objects.exists()
    article = side_a.articles[1]
    response = client.patch(
        f"/api/v1/publisher/articles/{article.slug}/", {"access_level": "premium"}, format="json"
    )
    assert response.status_code == 200
    assert response.json() == {
        "slug": article.slug,
        "publication": {"slug": side_a.title.slug, "name": side_a.title.name},
        "access_level": "premium",
        "resolved_level": "premium",
    }
    assert (
        Client().get(f"/api/v1/articles/{article.slug}/").json()["access"]["reason"]
        == "subscribers_only"
    )
    entry = AuditEntry.objects.get(action="article.access_set")
    assert entry.detail == {
        "access_level": "premium",
        "articles": [{"slug": article.slug, "before": "inherit"}],
    }
    response = client.patch(
        f"/api/v1/publisher/articles/{article.slug}/", {"access_level": "inherit"}, format="json"
    )
    assert response.json()["resolved_level"] == "metered"


def test_article_override_rejects_unknown_levels(side_a):
    article = side_a.articles[0]
    response = api_as(side_a.editor).patch(
        f"/api/v1/publisher/articles/{article.slug}/", {"access_level": "gold"}, format="json"
    )
    assert response.status_code == 400
    article.refresh_from_db()
    assert article.access_level == "inherit"
    assert not AuditEntry.objects.exists()


def test_removing_staff_takes_effect_on_the_next_request(side_a):
    client = api_as(side_a.editor)
    assert client.get("/api/v1/publisher/publications/").status_code == 200
    side_a.publisher.staff.filter(user=side_a.editor).delete()
    assert client.get("/api/v1/publisher/publications/").status_code == 404


def test_stats_rejects_a_bad_period(side_a):
    client = api_as(side_a.admin)
    assert client.get("/api/v1/publisher/stats/?from=2026-05-02&to=2026-05-01").status_code == 400
    assert client.get("/api/v1/publisher/stats/?from=yesterday").status_code == 400
    assert client.get("/api/v1/publisher/stats/?from=2024-01-01&to=2026-01-01").status_code == 400


@time_machine.travel("2026-06-15 12:00Z", tick=False)
@pytest.mark.parametrize(
    ("query", "code", "detail"),
    [
        # Given twice: the last one was used silently, the API's rule is a 400.
        ("from=2026-05-01&from=2026-06-01", "repeated", "from: Give this parameter once."),
        ("to=2026-05-01&to=2026-06-01", "repeated", "to: Give this parameter once."),
        # `from` alone reaching back years: the 366-day bound held only with both given.
        ("from=2000-01-01", "bad_period", "The period is at most 366 days."),
        ("from=0001-01-01", "bad_period", "The period is at most 366 days."),
        # `from` alone after today (the default `to`).
        ("from=2026-07-01", "bad_period", "`from` must not be after `to`."),
    ],
)
def test_stats_period_rules_hold_whatever_is_given(side_a, query, code, detail):
    response = api_as(side_a.admin).get(f"/api/v1/publisher/stats/?{query}")
    assert response.status_code == 400
    assert (response.json()["code"], response.json()["detail"]) == (code, detail)


@time_machine.travel("2026-06-15 12:00Z", tick=False)
@pytest.mark.parametrize(
    ("query", "period"),
    [
        ("", ("2026-05-17", "2026-06-15")),
        ("to=2020-02-01", ("2020-01-03", "2020-02-01")),
        ("from=2025-06-14", ("2025-06-14", "2026-06-15")),
    ],
)
def test_stats_period_defaults(side_a, query, period):
    body = api_as(side_a.admin).get(f"/api/v1/publisher/stats/?{query}").json()
    assert (body["from"], body["to"]) == period


def test_token_auth_works_like_the_session(side_a):
    from knox.models import AuthToken

    _, token = AuthToken.objects.create(side_a.admin)
    client = Client(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/v1/publisher/publications/").status_code == 200


@pytest.mark.parametrize("window, days", [("month", None), ("rolling", 30)])
def test_simulate_says_which_meter_window_it_modelled(side_a, settings, window, days):
    settings.METER_WINDOW = window
    settings.METER_ROLLING_DAYS = 30
    url = f"/api/v1/publisher/publications/{side_a.title.slug}/rule/simulate/"
    response = api_as(side_a.admin).post(url, RULE, format="json")
    assert response.status_code == 200
    assert response.json()["meter_window"] == {"window": window, "rolling_days": days}
