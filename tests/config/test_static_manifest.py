"""Debug off without `collectstatic`: the manifest storage would answer every page with a
500 ("Missing staticfiles manifest entry"). The web process refuses to start instead, with
a message that says what to do."""

from __future__ import annotations

import importlib
import json

import pytest
from django.core.exceptions import ImproperlyConfigured

import config.wsgi
from config import staticfiles

MANIFEST = "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"


@pytest.fixture
def manifest_storage(settings, tmp_path):
    settings.DEBUG = False
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": MANIFEST},
    }
    return tmp_path


def test_the_web_process_refuses_to_start_without_collected_static_files(manifest_storage):
    with pytest.raises(ImproperlyConfigured, match=r"run `python manage.py collectstatic`"):
        importlib.reload(config.wsgi)


def test_it_starts_once_they_are_collected(manifest_storage):
    (manifest_storage / "staticfiles.json").write_text(
        json.dumps({"version": "1.1", "paths": {}, "hash": ""})
    )
    staticfiles.ensure_collected()
    importlib.reload(config.wsgi)


def test_debug_and_plain_storages_need_no_manifest(settings, tmp_path):
    settings.STATIC_ROOT = tmp_path
    settings.DEBUG = True
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": MANIFEST},
    }
    staticfiles.ensure_collected()
    settings.DEBUG = False
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    staticfiles.ensure_collected()
