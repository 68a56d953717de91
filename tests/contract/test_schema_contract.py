"""The schema declares what the code answers: every error in the {detail, code} shape,
and the request rules the code enforces (tests/contract/test_schema_fuzz.py checks the
same against a live server with generated requests)."""

from __future__ import annotations

import pytest
from django.contrib.auth.password_validation import (
    MinimumLengthValidator,
    get_default_password_validators,
)

from accounts.serializers import PASSWORD_MIN_LENGTH
from tests.factories import ArticleFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(client):
    return client.get("/api/schema/?format=json").json()


def operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def test_every_error_answer_is_declared_in_the_error_shape(schema):
    error = schema["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"detail", "code"}
    for path, method, operation in operations(schema):
        errors = {code for code in operation["responses"] if code >= "400"}
        assert errors, (method, path)
        for code in errors:
            body = operation["responses"][code]["content"]["application/json"]["schema"]
            assert body == {"$ref": "#/components/schemas/Error"}, (method, path, code)


@pytest.mark.parametrize(
    ("method", "path", "codes"),
    [
        ("post", "/api/v1/auth/signup/", {"201", "400", "415", "429"}),
        ("post", "/api/v1/auth/login/", {"200", "400", "415", "429"}),
        ("post", "/api/v1/auth/logout/", {"204", "401", "403"}),
        ("get", "/api/v1/me/", {"200", "401"}),
        ("delete", "/api/v1/me/", {"204", "400", "401", "403", "415"}),
        ("get", "/api/v1/articles/", {"200", "400", "401", "404"}),
        ("get", "/api/v1/articles/{slug}/", {"200", "401", "404"}),
        (
            "post",
            "/api/v1/billing/checkout/",
            {"200", "400", "401", "403", "409", "415", "502", "503"},
        ),
        ("post", "/api/v1/billing/portal/", {"200", "401", "403", "409", "502", "503"}),
    ],
)
def test_operations_declare_the_answers_they_give(schema, method, path, codes):
    assert set(schema["paths"][path][method]["responses"]) == codes


def request_schema(schema, path, method="post"):
    ref = schema["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
    return schema["components"]["schemas"][ref["$ref"].rsplit("/", 1)[1]]


def test_sign_up_declares_the_password_and_email_rules(schema):
    body = request_schema(schema, "/api/v1/auth/signup/")
    password, email = body["properties"]["password"], body["properties"]["email"]
    assert (password["minLength"], password["maxLength"]) == (PASSWORD_MIN_LENGTH, 128)
    assert password["pattern"] == "[^0-9]"
    assert email["format"] == "email" and email["maxLength"] == 254
    minimum = next(
        v for v in get_default_password_validators() if isinstance(v, MinimumLengthValidator)
    )
    assert minimum.min_length == PASSWORD_MIN_LENGTH


def test_deleting_the_account_declares_its_password_body(schema):
    body = request_schema(schema, "/api/v1/me/", "delete")
    assert body["required"] == ["password"]


def test_text_fields_declare_that_nul_is_refused(schema):
    q = next(
        p for p in schema["paths"]["/api/v1/articles/"]["get"]["parameters"] if p["name"] == "q"
    )
    assert q["schema"]["pattern"] == "^[^\\u0000]*$"
    assert request_schema(schema, "/api/v1/auth/login/")["properties"]["email"]["pattern"] == (
        "^[^\\u0000]+$"
    )


BAD_PAGES = ["page_size=0", "page_size=101", "page_size=abc", "page_size=5&page_size=50"]
BAD_FILTERS = ["page=1&page=2", "q=a&q=b", "topic=x&topic=y", "publication=a%00b"]


@pytest.mark.parametrize(
    ("path", "query"),
    [("/api/v1/publications/", query) for query in BAD_PAGES]
    + [("/api/v1/articles/", query) for query in BAD_PAGES + BAD_FILTERS],
)
def test_bad_list_queries_are_400_not_ignored(client, path, query):
    ArticleFactory()
    response = client.get(f"{path}?{query}")
    assert response.status_code == 400, response.content
    assert set(response.json()) >= {"detail", "code"}


@pytest.mark.parametrize("query", ["page_size=1", "page_size=100", "q=", "topic=&publication="])
def test_good_list_queries_answer(client, query):
    ArticleFactory()
    response = client.get(f"/api/v1/articles/?{query}")
    assert response.status_code == 200
    assert response.json()["count"] == 1


def test_a_page_past_the_end_is_404(client):
    ArticleFactory()
    response = client.get("/api/v1/articles/?page=2")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_the_api_token_is_a_declared_way_in(schema):
    """The token scheme (knox's, cached: accounts.authentication) stays in the schema,
    so that a client sending only `Authorization: Token …` matches it."""
    assert schema["components"]["securitySchemes"]["knoxApiToken"]["name"] == "Authorization"
    me = schema["paths"]["/api/v1/me/"]["get"]
    assert {"knoxApiToken": []} in me["security"]


def test_the_simulator_declares_preparing_with_retry_after(schema):
    operation = schema["paths"]["/api/v1/publisher/publications/{slug}/rule/simulate/"]["post"]
    preparing = operation["responses"]["503"]
    assert "Retry-After" in preparing["headers"]
    examples = preparing["content"]["application/json"]["examples"]
    assert [e["value"]["code"] for e in examples.values()] == ["simulation_preparing"]
    assert "Retry-After" not in [p["name"] for p in operation.get("parameters", [])]
