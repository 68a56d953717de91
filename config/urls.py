from django.conf import settings
from django.contrib import admin
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import URLPattern, URLResolver, include, path, re_path
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from accounts.urls import allauth_entrance_urlpatterns, entrance_urlpatterns
from accounts.views import admin_login
from config import health


@csrf_exempt  # it changes nothing: a write to a path no view takes is a JSON 404, not HTML
def api_not_found(request: HttpRequest, *args: object, **kwargs: object) -> JsonResponse:
    return JsonResponse({"detail": "Not found.", "code": "not_found"}, status=404)


# Where every error is {detail, code}: the API, and the Stripe webhook.
JSON_ERROR_PATHS = ("/api/", "/webhooks/")


def server_error(request: HttpRequest) -> HttpResponse:
    """Django's 500 page, except under /api/ and at the webhook: there every error is
    {detail, code}."""
    if request.path.startswith(JSON_ERROR_PATHS):
        return JsonResponse({"detail": "Server error.", "code": "server_error"}, status=500)
    return defaults.server_error(request)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Django's 400 for a request it refuses as suspicious (a body past
    DATA_UPLOAD_MAX_MEMORY_SIZE, more fields than DATA_UPLOAD_MAX_NUMBER_FIELDS, a host not
    allowed …): its page, except where every error is {detail, code}."""
    if not request.path.startswith(JSON_ERROR_PATHS):
        return defaults.bad_request(request, exception)
    if isinstance(exception, RequestDataTooBig):
        detail = "The request body is too large."
    elif isinstance(exception, TooManyFieldsSent | TooManyFilesSent):
        detail = "Too many fields."
    else:
        detail = "Bad request."
    return JsonResponse({"detail": detail, "code": "bad_request"}, status=400)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Django's 404 page, except where every error is {detail, code} (under /api/ but
    outside /api/v1/, whose own catch-all answers, and at the webhook's folder)."""
    if request.path.startswith(JSON_ERROR_PATHS):
        return api_not_found(request)
    return defaults.page_not_found(request, exception)


handler400 = bad_request
handler404 = page_not_found
handler500 = server_error


api_v1: list[URLPattern | URLResolver] = [
    path("publisher/", include("publishers.api_urls")),
    path("", include("articles.api_urls")),
    path("", include("accounts.api_urls")),
    path("", include("subscriptions.api_urls")),
    re_path(r"^[\s\S]*$", api_not_found),  # any path, one with a newline too
]

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    # Stripe's deliveries come in bursts, and the reader's pages and API are the busiest:
    # they resolve before the admin's, the portal's and the accounts' forty-odd patterns
    # (no pattern of the catalogue's prefixes, "", titles/, t/, topic/, a/ and search/,
    # is anyone else's).
    path("webhooks/", include("subscriptions.webhooks.urls")),
    path("", include("articles.urls")),
    path("api/v1/", include(api_v1)),
    path("admin/login/", admin_login),  # the admin's sign-in, limited (accounts.limits)
    path("admin/", admin.site.urls),
    path("ops/", include("ops.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's init script as a file: no inline script (CSP).
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="schema", template_name="api/swagger_ui.html"),
        name="api-docs",
    ),
    *allauth_entrance_urlpatterns,
    path("accounts/", include("allauth.urls")),
    *entrance_urlpatterns,
    path("publisher/", include("publishers.urls")),
    path("", include("accounts.urls")),
    path("", include("subscriptions.urls")),
]

if settings.BENCH_VIEWS:  # `make bench` only: the paywall-free ceiling view
    urlpatterns.insert(0, path("", include("bench.urls")))
