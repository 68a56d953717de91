"""The article page's two Redis round trips without redis-py's per-command machinery
(config/redis_command.py): the cache's `get_many` reads what django-redis wrote, a dead
pooled connection is replaced, and an error reply or Redis down is handled as before.
Run where REDIS_URL is set (CI)."""

import os

import pytest
import redis
from django.core.cache import caches
from redis.exceptions import ResponseError

from config import redis_command
from config.settings.base import redis_cache

pytestmark = pytest.mark.integration


@pytest.fixture
def cache(settings):
    settings.CACHES = {
        "default": {**redis_cache(os.environ["REDIS_URL"]), "KEY_PREFIX": "masthead-test-cmd"}
    }
    cache = caches["default"]
    cache.clear()
    yield cache
    cache.clear()


def _pool(cache):
    return cache.client.get_client(write=False).connection_pool


def test_get_many_reads_what_django_redis_wrote(cache):
    values = {"text": "a stamp", "number": 7, "big": 2**70, "record": {"id": 1, "v": [1.5]}}
    cache.set_many(values, None)
    cache.set("other-version", "v2", None, version=2)
    asked = [*values, "missing"]
    assert cache.get_many(asked) == values
    assert cache.get_many(asked) == super(type(cache), cache).get_many(asked)  # django-redis'
    assert cache.get_many(["other-version"], version=2) == {"other-version": "v2"}
    assert cache.get_many(["other-version"]) == {}
    assert cache.get_many([]) == {}


def test_a_dead_pooled_connection_is_replaced(cache):
    """The server drops the pooled connection (a restart, an idle timeout): the next read
    still answers, on a new connection."""
    cache.set("stamp", "s1", None)
    assert cache.get_many(["stamp"]) == {"stamp": "s1"}
    pool = _pool(cache)
    conn = pool.get_connection()
    conn.send_command("CLIENT", "ID")
    client_id = conn.read_response()
    pool.release(conn)
    redis.Redis.from_url(os.environ["REDIS_URL"]).client_kill_filter(_id=client_id)
    assert cache.get_many(["stamp"]) == {"stamp": "s1"}
    assert redis_command.command(pool, "CLIENT", "ID") != client_id


def test_an_error_reply_is_raised_and_the_connection_stays_usable(cache):
    pool = _pool(cache)
    redis_command.command(pool, "SET", "masthead-test-cmd:a-string", "x")
    with pytest.raises(ResponseError):
        redis_command.command(pool, "RPUSH", "masthead-test-cmd:a-string", "event")
    assert redis_command.command(pool, "GET", "masthead-test-cmd:a-string") == b"x"
    redis_command.command(pool, "DEL", "masthead-test-cmd:a-string")


def test_redis_down_is_nothing_found(settings):
    settings.CACHES = {"default": redis_cache("redis://127.0.0.1:1/0")}  # nothing listens
    assert caches["default"].get_many(["stamp", "other"]) == {}


def test_redis_down_raises_without_ignore_exceptions(settings):
    config = redis_cache("redis://127.0.0.1:1/0")
    config["OPTIONS"] = {**config["OPTIONS"], "IGNORE_EXCEPTIONS": False}  # type: ignore[dict-item]
    settings.CACHES = {"default": config}
    with pytest.raises(Exception):  # noqa: B017  (redis' ConnectionError, as django-redis)
        caches["default"].get_many(["stamp"])
