from __future__ import annotations

import os

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient


@pytest.fixture(autouse=True)
def _clear_cache():
    from articles import pages
    from config import versions
    from subscriptions.paywall import events, rules

    cache.clear()
    versions.forget_local_state()
    pages.forget_local_snapshots()
    rules.invalidate()
    events.discard_buffer()
    yield
    events.discard_buffer()
    cache.clear()


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("REDIS_URL"):
        return
    skip = pytest.mark.skip(reason="needs the real stack: set REDIS_URL (CI does)")
    for item in items:
        if "integration" in item.keywords:
            item.add_marker(skip)
