"""Our error type and the DRF handler that shapes every API error as {detail, code}."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


class ApplicationError(Exception):
    """A business rule said no. Views turn it into a 4xx with a stable code."""

    status_code: int = status.HTTP_400_BAD_REQUEST

    def __init__(self, message: str, *, code: str = "invalid", status_code: int | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        if status_code is not None:
            self.status_code = status_code


def _first_message(detail: Any) -> str:
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    if isinstance(detail, dict) and detail:
        key, value = next(iter(detail.items()))
        message = _first_message(value)
        return message if key in ("non_field_errors", "detail") else f"{key}: {message}"
    return str(detail)


def _first_code(detail: Any, default: str) -> str:
    if isinstance(detail, list) and detail:
        return _first_code(detail[0], default)
    if isinstance(detail, dict) and detail:
        return _first_code(next(iter(detail.values())), default)
    return str(getattr(detail, "code", None) or default)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ApplicationError):
        return Response({"detail": exc.message, "code": exc.code}, status=exc.status_code)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response
    detail = exc.detail
    body: dict[str, Any] = {
        "detail": _first_message(detail),
        "code": _first_code(detail, exc.default_code),
    }
    if isinstance(detail, dict):
        body["errors"] = exc.get_full_details()
    response.data = body
    return response
