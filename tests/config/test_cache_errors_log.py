"""Redis down: the cache answers misses, and the log says so in one line per outage (and
then one a minute with a count), not a traceback per cache call."""

from __future__ import annotations

import logging

import pytest
from django.core.cache import caches

from config import cache as cache_module
from config.settings.base import redis_cache

NOBODY_LISTENS = "redis://127.0.0.1:1/0"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def dead_redis(settings, monkeypatch):
    settings.CACHES = {"default": redis_cache(NOBODY_LISTENS)}
    clock = Clock()
    monkeypatch.setattr(cache_module.IGNORED_ERRORS, "clock", clock)
    monkeypatch.setattr(cache_module.IGNORED_ERRORS, "last_logged", None)
    monkeypatch.setattr(cache_module.IGNORED_ERRORS, "suppressed", 0)
    return clock


def ignored(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "django_redis.cache"]


def many_calls(cache) -> None:
    assert cache.get("a") is None
    assert cache.get_many(["a", "b"]) == {}
    cache.set("a", 1)  # a skipped write: never an error
    cache.add("b", 1)
    assert cache.touch("a") is False  # our backend's own guard (config.cache)
    cache.delete("a")


def test_an_outage_is_one_concise_warning_not_a_traceback_per_call(dead_redis, caplog):
    cache = caches["default"]
    with caplog.at_level(logging.INFO, logger="django_redis.cache"):
        for _ in range(5):
            many_calls(cache)
    (record,) = ignored(caplog)
    assert record.levelno == logging.WARNING
    assert record.exc_info is None and not record.exc_text
    message = record.getMessage()
    assert "\n" not in message and "Traceback" not in message
    assert message.startswith("Redis unavailable: cache calls answer as misses, writes are skipped")
    assert "ConnectionError" in message


def test_a_long_outage_says_how_many_calls_it_cost_once_a_minute(dead_redis, caplog):
    cache = caches["default"]
    with caplog.at_level(logging.INFO, logger="django_redis.cache"):
        cache.get("a")
        dead_redis.now += 30
        cache.get("a")
        cache.get("b")
        assert len(ignored(caplog)) == 1
        dead_redis.now += cache_module.IgnoredCacheErrors.INTERVAL
        cache.get("c")
    first, second = ignored(caplog)
    assert first.getMessage().startswith("Redis unavailable")
    assert "3 cache calls" in second.getMessage()  # two quiet ones and this one
    assert second.exc_info is None


def test_other_messages_of_that_logger_pass_untouched(caplog):
    logger = logging.getLogger("django_redis.cache")
    logger.addFilter(cache_module.IGNORED_ERRORS)
    with caplog.at_level(logging.INFO, logger="django_redis.cache"):
        logger.info("something else")
    assert [r.getMessage() for r in ignored(caplog)] == ["something else"]
