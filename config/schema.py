"""The OpenAPI schema tells a generated client the truth: every operation declares the
error answers it can give, all in the one `{detail, code}` shape (`Error`).

`AutoSchema` adds the answers that follow from how a view is built (400 and 415 for a
body or query parameters, 401 for any view that reads credentials, 403 for CSRF on
unsafe methods with a session, 404 for path parameters and pages, 429 for throttled
views); a view declares the answers of its business rules itself with
`error_responses(409, 503, ...)` in `extend_schema(responses=...)`.
"""

from __future__ import annotations

from typing import Any

from django.core.validators import ProhibitNullCharactersValidator
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import get_override
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication

NO_NUL = "^[^\\u0000]+$"  # blank is refused too
NO_NUL_OR_BLANK = "^[^\\u0000]*$"

ERROR_DESCRIPTIONS = {
    400: "The request is invalid: malformed JSON, a field or query parameter, or a rule "
    "(see `code`).",
    401: "Credentials are missing, wrong or revoked (`WWW-Authenticate: Token`).",
    403: "Not allowed: a session call without its CSRF token, or an account without the right.",
    404: "No such resource or page.",
    409: "The account's state does not allow this now (see `code`).",
    415: "The body is not `application/json`.",
    429: "Too many requests; `Retry-After` says when to try again.",
    502: "The payment service refused the request.",
    503: "A service this call needs is unavailable or not configured; try again later.",
}


class ErrorSerializer(serializers.Serializer[Any]):
    """Every API error."""

    detail = serializers.CharField(help_text="A message for people.")
    code = serializers.CharField(help_text="A stable code for programs.")
    # The metaclass takes declared fields off the class: Serializer.errors stays intact.
    errors = serializers.DictField(  # type: ignore[assignment]
        required=False,
        help_text="Per field, its messages and codes (when the body or query was invalid).",
    )

    class Meta:
        ref_name = "Error"


def error_responses(*codes: int) -> dict[int, OpenApiResponse]:
    """`extend_schema(responses={200: X, **error_responses(409, 503)})`."""
    return {
        code: OpenApiResponse(ErrorSerializer, description=ERROR_DESCRIPTIONS[code])
        for code in codes
    }


class AutoSchema(SpectacularAutoSchema):
    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation: dict[str, Any] | None = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        responses: dict[str, Any] = operation.setdefault("responses", {})
        for code in sorted(self._structural_error_codes(operation)):
            if str(code) not in responses:
                response = error_responses(code)[code]
                responses[str(code)] = self._get_response_for_code(
                    response, str(code), direction="response"
                )
        return operation

    def _map_basic_serializer(self, serializer: Any, direction: str) -> dict[str, Any]:
        self._direction = direction
        return super()._map_basic_serializer(serializer, direction)

    def _insert_field_validators(self, field: Any, schema: dict[str, Any]) -> None:
        super()._insert_field_validators(field, schema)
        declared = get_override(field, "field")
        if isinstance(declared, dict) and "minLength" in declared:
            # A field's declared schema wins over spectacular's "not blank" minLength 1.
            schema["minLength"] = declared["minLength"]
        # DRF refuses NUL in every text field (400): say so where nothing stricter does.
        refuses_nul = any(isinstance(v, ProhibitNullCharactersValidator) for v in field.validators)
        is_text = schema.get("type") == "string" and "pattern" not in schema
        if getattr(self, "_direction", None) == "request" and refuses_nul and is_text:
            schema["pattern"] = NO_NUL_OR_BLANK if getattr(field, "allow_blank", False) else NO_NUL

    def _get_request_body(self, direction: str = "request") -> Any:
        # DELETE /me/ takes the password in its body: declare it (spectacular only
        # declares bodies of POST, PUT and PATCH).
        if self.method == "DELETE" and self.get_request_serializer() is not None:
            self.method = "POST"
            try:
                return super()._get_request_body(direction)
            finally:
                self.method = "DELETE"
        return super()._get_request_body(direction)

    def _structural_error_codes(self, operation: dict[str, Any]) -> set[int]:
        codes: set[int] = set()
        places = {parameter["in"] for parameter in operation.get("parameters", [])}
        if operation.get("requestBody"):
            codes |= {400, 415}
        if "query" in places:
            codes.add(400)
        if "path" in places or self._get_paginator() is not None:
            codes.add(404)
        authenticators = self.view.get_authenticators()
        if authenticators:
            codes.add(401)
            unsafe = self.method not in ("GET", "HEAD", "OPTIONS")
            if unsafe and any(isinstance(a, SessionAuthentication) for a in authenticators):
                codes.add(403)
        if self.view.get_throttles():
            codes.add(429)
        return codes
