"""The cache `make run` uses without Redis (files under var/cache) is shared by every
local process, so its counters must be atomic across them: the sign-in limiter counts in
it."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache

from accounts import limits
from config.settings import base


@pytest.fixture
def local_cache(settings: Any, tmp_path: Path) -> None:
    settings.CACHES = {"default": {**base.LOCAL_CACHE, "LOCATION": str(tmp_path / "cache")}}


def _at_once(count: int, work: Any) -> list[Any]:
    barrier = threading.Barrier(count)
    results: list[Any] = []
    lock = threading.Lock()

    def run(n: int) -> None:
        barrier.wait()
        result = work(n)
        with lock:
            results.append(result)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_increments_at_once_are_all_counted(local_cache: None) -> None:
    cache.set("hits", 0)
    _at_once(8, lambda n: [cache.incr("hits") for _ in range(25)])
    assert cache.get("hits") == 200


def test_only_one_of_many_adds_at_once_wins(local_cache: None) -> None:
    assert _at_once(12, lambda n: cache.add("start", n)).count(True) == 1


def test_racing_guesses_on_the_local_cache_get_exactly_the_limit(local_cache: None) -> None:
    def guess(n: int) -> str:
        try:
            limits.signin_begin(email="ann@example.org", address=f"198.51.100.{n}")
        except limits.Throttled:
            return "throttled"
        return "tried"

    assert _at_once(20, guess).count("tried") == 5
