from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase

from config import versions

from .metering import set_meter_cookie


class MeterCookieMiddleware:
    """Per request: one read of the cache version stamps (rules, articles), and the
    anonymous meter cookie set when the paywall issued a meter id or changed its reads."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        with versions.request_scope():
            response = self.get_response(request)
        set_meter_cookie(request, response)
        return response
