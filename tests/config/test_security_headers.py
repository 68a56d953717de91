"""Content-Security-Policy and Permissions-Policy on every kind of answer."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from tests.factories import ArticleFactory, PublicationFactory, UserFactory

pytestmark = pytest.mark.django_db


def _directives(header: str) -> dict[str, list[str]]:
    parts = (part.strip().split() for part in header.split(";") if part.strip())
    return {name: values for name, *values in parts}


@pytest.fixture
def pages(client: Client) -> dict[str, Any]:
    """One answer of every kind: reader pages, account pages, the API, its docs, the admin."""
    publication = PublicationFactory()
    article = ArticleFactory(publication=publication)
    staff = UserFactory(is_staff=True, is_superuser=True)
    anonymous = Client()
    answers = {
        "home": anonymous.get("/"),
        "titles": anonymous.get("/titles/"),
        "title": anonymous.get(f"/t/{publication.slug}/"),
        "article": anonymous.get(f"/a/{article.slug}/"),
        "search": anonymous.get("/search/?q=news"),
        "login": anonymous.get("/login/"),
        "signup": anonymous.get("/signup/"),
        "not found": anonymous.get("/no-such-page/"),
        "api json": anonymous.get("/api/v1/articles/"),
        "api error": anonymous.get("/api/v1/me/"),
        "api schema": anonymous.get("/api/schema/"),
        "api docs": anonymous.get("/api/docs/"),
        "api docs script": anonymous.get("/api/docs/?script="),
        "healthz": anonymous.get("/healthz"),
    }
    client.force_login(staff)
    answers["account"] = client.get("/account/")
    answers["admin"] = client.get("/admin/")
    answers["admin change list"] = client.get("/admin/articles/article/")
    answers["admin change form"] = client.get(f"/admin/articles/article/{article.pk}/change/")
    return answers


def test_every_page_answers(pages: dict[str, Any]) -> None:
    codes = {name: response.status_code for name, response in pages.items()}
    expected = {name: 200 for name in pages} | {"not found": 404, "api error": 401}
    assert codes == expected


def test_every_answer_carries_an_enforced_strict_content_security_policy(
    pages: dict[str, Any],
) -> None:
    for name, response in pages.items():
        assert "Content-Security-Policy-Report-Only" not in response, name
        policy = _directives(response["Content-Security-Policy"])
        assert policy["default-src"] == ["'self'"], name
        # Scripts only from our own origin (or a per-response nonce): no inline script,
        # no eval, no other host.
        assert policy["script-src"][0] == "'self'", name
        assert all(v == "'self'" or v.startswith("'nonce-") for v in policy["script-src"]), name
        assert policy["object-src"] == ["'none'"], name
        assert policy["base-uri"] == ["'none'"], name
        assert policy["frame-ancestors"] == ["'none'"], name
        assert policy["form-action"][0] == "'self'", name
        assert "'unsafe-inline'" not in policy.get("style-src", []), name
        assert not any("*" in value for values in policy.values() for value in values), name


def test_every_answer_carries_a_permissions_policy(pages: dict[str, Any]) -> None:
    for name, response in pages.items():
        header = response["Permissions-Policy"]
        features = dict(item.strip().split("=", 1) for item in header.split(","))
        for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
            assert features[feature] == "()", (name, feature)


_SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script>", re.S | re.I)
_STYLE = re.compile(r"<style\b([^>]*)>", re.I)


def test_pages_hold_no_inline_script_and_nonce_their_style_blocks(pages: dict[str, Any]) -> None:
    """What the policy would block never reaches it: every script is a file of ours (or a
    JSON-LD data block, which browsers never run), every <style> block has the nonce."""
    for name, response in pages.items():
        if not response["Content-Type"].startswith("text/html"):
            continue
        html = response.content.decode()
        for attributes, body in _SCRIPT.findall(html):
            assert "src=" in attributes or 'type="application/ld+json"' in attributes, name
            assert "src=" not in attributes or not body.strip(), name
        assert not re.search(r"\son[a-z]+\s*=", html, re.I), name  # no onclick= and the like
        nonce = re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"])
        for attributes in _STYLE.findall(html):
            assert nonce and f'nonce="{nonce.group(1)}"' in attributes, name


def test_the_nonce_is_new_on_every_answer(client: Client) -> None:
    first = client.get("/api/docs/")["Content-Security-Policy"]
    second = client.get("/api/docs/")["Content-Security-Policy"]
    one, two = (re.search(r"'nonce-([^']+)'", policy) for policy in (first, second))
    assert one is not None and two is not None
    assert one.group(1) != two.group(1)


def test_checkout_forms_may_post_to_stripe_and_to_the_double_when_pointed_at_it(
    client: Client, settings: Any
) -> None:
    """The account page's forms answer with a redirect to Stripe's hosted pages, which
    `form-action` must allow (Chrome checks the redirect's target too)."""
    settings.STRIPE_API_BASE = None
    policy = _directives(client.get("/login/")["Content-Security-Policy"])
    assert policy["form-action"] == [
        "'self'",
        "https://checkout.stripe.com",
        "https://billing.stripe.com",
    ]
    settings.STRIPE_API_BASE = "http://127.0.0.1:8420/"
    policy = _directives(client.get("/login/")["Content-Security-Policy"])
    assert policy["form-action"][-1] == "http://127.0.0.1:8420"


def test_a_report_only_policy_is_sent_only_when_there_is_one(client: Client, settings: Any) -> None:
    """The enforced policy is built once per answer; a report-only one only when one is
    configured (django-csp would build an empty one for every answer)."""
    answer = client.get("/login/")
    assert "Content-Security-Policy" in answer
    assert "Content-Security-Policy-Report-Only" not in answer
    settings.CONTENT_SECURITY_POLICY_REPORT_ONLY = {
        "DIRECTIVES": {"default-src": ["'none'"], "report-uri": "/csp-report/"}
    }
    answer = client.get("/login/")
    assert _directives(answer["Content-Security-Policy-Report-Only"])["report-uri"] == [
        "/csp-report/"
    ]
    assert _directives(answer["Content-Security-Policy"])["default-src"] == ["'self'"]


def test_a_nonce_asked_for_after_the_header_is_written_is_refused(settings: Any) -> None:
    from csp.exceptions import CSPNonceError
    from django.http import HttpResponse
    from django.test import RequestFactory

    from config.security import CSPMiddleware

    middleware = CSPMiddleware(lambda request: HttpResponse())
    request = RequestFactory().get("/")
    middleware.process_request(request)
    middleware.process_response(request, HttpResponse())
    with pytest.raises(CSPNonceError):
        str(request.csp_nonce)  # type: ignore[attr-defined]
