"""Cross-cutting API contract: calls that need an account answer 401 with
`WWW-Authenticate: Token` and the {detail, code} shape; bad bodies are 400, never 500."""

import pytest

pytestmark = pytest.mark.django_db

NEEDS_ACCOUNT = [
    ("post", "/api/v1/billing/checkout/"),
    ("post", "/api/v1/billing/portal/"),
    ("post", "/api/v1/billing/cancel/"),
    ("post", "/api/v1/auth/logout/"),
    ("get", "/api/v1/me/"),
]


@pytest.mark.parametrize(("method", "path"), NEEDS_ACCOUNT)
def test_calls_that_need_an_account_are_401_with_the_token_challenge(api_client, method, path):
    response = getattr(api_client, method)(path, {"plan": "monthly"}, format="json")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert set(response.json()) >= {"detail", "code"}


@pytest.mark.parametrize("token", ["nonsense", "a" * 64, ""])
def test_dead_tokens_are_401(api_client, token):
    response = api_client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code == 401


@pytest.mark.parametrize(
    "path", ["/api/v1/auth/signup/", "/api/v1/auth/login/", "/api/v1/billing/checkout/"]
)
@pytest.mark.parametrize("body", [b"{not json", b"[]", b'"a string"', b"\xff\xfe"])
def test_malformed_bodies_are_4xx_not_500(api_client, path, body):
    response = api_client.generic("POST", path, body, content_type="application/json")
    assert 400 <= response.status_code < 500
    assert set(response.json()) >= {"detail", "code"}


def test_openapi_schema_names_every_contract_path(client):
    schema = client.get("/api/schema/?format=json").json()
    for path in [
        "/api/v1/auth/signup/",
        "/api/v1/auth/login/",
        "/api/v1/auth/logout/",
        "/api/v1/me/",
        "/api/v1/plans/",
        "/api/v1/publications/",
        "/api/v1/articles/",
        "/api/v1/articles/top/",
        "/api/v1/articles/picks/",
        "/api/v1/articles/{slug}/",
        "/api/v1/billing/checkout/",
        "/api/v1/billing/portal/",
        "/api/v1/billing/cancel/",
    ]:
        assert path in schema["paths"], path
