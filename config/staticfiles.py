"""A start-up guard for the static files' manifest.

With debug off, the manifest storage (whitenoise's, in every settings module but the
tests') resolves `{% static %}` through `staticfiles.json`, written by `collectstatic`;
without it every page would answer 500. The web process checks once and refuses to start.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.staticfiles.storage import ManifestFilesMixin
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import storages


def ensure_collected() -> None:
    storage = storages["staticfiles"]
    if settings.DEBUG or not isinstance(storage, ManifestFilesMixin):
        return
    if storage.read_manifest() is None:
        raise ImproperlyConfigured(
            f"Static files are not collected: no {storage.manifest_name} in "
            f"{settings.STATIC_ROOT}. With DJANGO_DEBUG=0, run `python manage.py collectstatic` "
            "first (`make run` does), or set DJANGO_DEBUG=1."
        )
