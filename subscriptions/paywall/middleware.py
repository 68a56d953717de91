from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase

from . import rules
from .metering import set_meter_cookie


class MeterCookieMiddleware:
    """Per request: one read of the paywall rules' version, and the anonymous meter
    cookie set when the paywall issued a new meter id."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        with rules.request_scope():
            response = self.get_response(request)
        set_meter_cookie(request, response)
        return response
