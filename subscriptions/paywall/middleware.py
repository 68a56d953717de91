from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase

from .metering import set_meter_cookie


class MeterCookieMiddleware:
    """Sets the anonymous meter cookie when the paywall issued a new meter id."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        set_meter_cookie(request, response)
        return response
