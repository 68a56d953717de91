from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, JsonResponse
from django.urls import URLPattern, URLResolver, include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from accounts.urls import entrance_urlpatterns
from config import health


def api_not_found(request: HttpRequest, *args: object, **kwargs: object) -> JsonResponse:
    return JsonResponse({"detail": "Not found.", "code": "not_found"}, status=404)


# Deleting many rows at once from a list page is too easy to do by mistake: off everywhere.
admin.site.disable_action("delete_selected")

api_v1: list[URLPattern | URLResolver] = [
    path("", include("articles.api_urls")),
    path("", include("accounts.api_urls")),
    path("", include("subscriptions.api_urls")),
    re_path(r"^.*$", api_not_found),
]

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("ops/", include("ops.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/v1/", include(api_v1)),
    path("accounts/", include("allauth.urls")),
    *entrance_urlpatterns,
    path("", include("accounts.urls")),
    path("", include("subscriptions.urls")),
    path("", include("articles.urls")),
]

if settings.BENCH_VIEWS:  # `make bench` only: the paywall-free ceiling view
    urlpatterns.insert(0, path("", include("bench.urls")))
