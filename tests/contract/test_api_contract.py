"""Cross-cutting API contract: calls that need an account answer 401 with
`WWW-Authenticate: Token` and the {detail, code} shape; bad bodies are 400, never 500."""

import json

import pytest
from rest_framework.test import APIClient

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


def _write_operations() -> list[tuple[str, str]]:
    """Every operation of the OpenAPI schema that takes a body, its path made concrete."""
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    operations = []
    for path, item in schema["paths"].items():
        for method in ("post", "put", "patch"):
            if method in item:
                operations.append((method, path.replace("{slug}", "some-article")))
    return sorted(operations)


# 2 KB of nesting: json.loads raised RecursionError, which DRF answered as a 500 HTML page.
# 100 levels parse, but nothing we accept nests past 64: refused before any serializer.
DEEPLY_NESTED = [
    b"[" * 1000 + b"]" * 1000,
    b'{"a":' * 400 + b"1" + b"}" * 400,
    b'{"email": ' + b"[" * 100 + b"]" * 100 + b"}",
]


def test_schema_has_write_operations_to_fuzz() -> None:
    assert {("post", "/api/v1/auth/signup/"), ("post", "/api/v1/auth/login/")} <= set(
        _write_operations()
    )


@pytest.mark.parametrize(("method", "path"), _write_operations())
@pytest.mark.parametrize("body", DEEPLY_NESTED, ids=["array", "object", "past-the-bound"])
@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "reader"])
def test_deeply_nested_json_is_a_400_parse_error_on_every_write_operation(
    api_client, method, path, body, signed_in
):
    from django.contrib.auth import get_user_model

    from tests.factories import UserFactory

    if signed_in:
        api_client.force_login(UserFactory())
    users_before = get_user_model().objects.count()
    response = api_client.generic(method.upper(), path, body, content_type="application/json")
    assert response.status_code != 500  # 503 billing_not_configured is an answer
    if (method, path) in READS_THE_BODY and response.status_code not in (401, 403):
        assert response.status_code == 400
        assert response.json() == {"detail": ANY_TEXT, "code": "parse_error"}
    elif response.status_code >= 400:  # refused before reading the body (or never reads it)
        assert response["Content-Type"] == "application/json"
        assert set(response.json()) >= {"detail", "code"}
    assert get_user_model().objects.count() == users_before


READS_THE_BODY = {
    ("post", "/api/v1/auth/signup/"),
    ("post", "/api/v1/auth/login/"),
    ("post", "/api/v1/billing/checkout/"),
}


class _AnyText(str):
    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and bool(other)

    __hash__ = str.__hash__


ANY_TEXT = _AnyText()


def test_an_unexpected_api_error_is_a_500_in_the_detail_code_shape(rf):
    """Whatever escapes a view under /api/ still answers JSON (the page keeps Django's)."""
    from django.urls import get_resolver

    handler = get_resolver().resolve_error_handler(500)
    api = handler(rf.get("/api/v1/articles/"))
    assert api.status_code == 500
    assert api["Content-Type"] == "application/json"
    assert json.loads(api.content) == {"detail": "Server error.", "code": "server_error"}
    page = handler(rf.get("/a/some-article/"))
    assert page.status_code == 500
    assert page["Content-Type"].startswith("text/html")


BIG_BODY = {"data": b'{"k": "' + b"a" * 3_000_000 + b'"}', "content_type": "application/json"}
MANY_FIELDS = {"QUERY_STRING": "&".join(f"k{i}=1" for i in range(1001))}


@pytest.mark.parametrize(
    ("method", "path", "request_kwargs", "detail", "page"),
    [
        # Past DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB): Django's RequestDataTooBig.
        ("post", "/api/v1/auth/login/", BIG_BODY, "The request body is too large.", "/login/"),
        ("post", "/webhooks/stripe/", BIG_BODY, "The request body is too large.", "/login/"),
        # Past DATA_UPLOAD_MAX_NUMBER_FIELDS (1,000): Django's TooManyFieldsSent.
        ("get", "/api/v1/articles/", MANY_FIELDS, "Too many fields.", "/search/"),
    ],
)
def test_a_request_django_refuses_as_suspicious_is_a_json_400_on_the_api(
    client, settings, method, path, request_kwargs, detail, page
):
    """Django's own 400 (a SuspiciousOperation) answered its HTML page under /api/ and at
    the webhook, whose every other error is {detail, code}; a page keeps Django's."""
    settings.STRIPE_WEBHOOK_SECRET = "whsec_test"
    client.raise_request_exception = False
    response = getattr(client, method)(path, HTTP_STRIPE_SIGNATURE="t=1,v1=0", **request_kwargs)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": detail, "code": "bad_request"}
    big_form = {"data": {"login": "a" * 3_000_000}}
    html = getattr(client, method)(page, **(big_form if method == "post" else request_kwargs))
    assert html.status_code == 400
    assert html["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("path", ["/api/nope", "/api/v2/articles/", "/api/", "/webhooks/"])
def test_unknown_paths_beside_the_api_are_json_404_too(client, path):
    """Outside /api/v1/ (an unversioned or future path, the webhook's folder) Django's
    HTML 404 page answered; a page keeps it."""
    response = client.get(path)
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}
    page = client.get("/nope/")
    assert page.status_code == 404
    assert page["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/nope/",
        "/api/v1/publisher/articles/not%20a%20slug/",
        "/api/v1/articles/a%2Fb/",
        "/api/v1/publisher/articles/a%0Ab/",
    ],
)
def test_unknown_api_paths_are_json_404_for_every_method(method, path):
    """Found by schemathesis: a write to a path no view matches met the CSRF check first
    and answered Django's HTML 403 page."""
    client = APIClient(enforce_csrf_checks=True)  # as a real client meets it
    response = getattr(client, method)(path, {"x": 1}, format="json")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}
