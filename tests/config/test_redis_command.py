"""The article page's two Redis round trips without redis-py's per-command machinery
(config/redis_command.py): the cache's `get_many` reads what django-redis wrote, a dead
pooled connection is replaced, and an error reply or Redis down is handled as before;
`get_many_via` (the signed-in reader's stamps, session or token, and account in one
round trip) answers as the plain reads it replaces. Run where REDIS_URL is set (CI)."""

import os

import pytest
import redis
from django.core.cache import caches
from redis.exceptions import ResponseError

from config import redis_command
from config.cache import _get_many_via, get_many_via
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


def test_get_many_via_answers_as_two_plain_reads(cache):
    """One round trip on Redis, the same answer as a `get_many` of the keys and the
    pointer, then of the keys the pointer names; absent keys absent."""
    cache.set_many({"k1": "stamp", "k2": {"a": 1}, "ptr": 7, "stamp:7": "s7", "record:7": [1]})
    cases = [
        (["k1", "k2", "k3"], "ptr", ("stamp:", "record:", "none:")),
        (["k1"], "no-pointer", ("stamp:",)),
        (["k3"], "ptr", ("record:",)),
    ]
    for keys, pointer, prefixes in cases:
        assert get_many_via(cache, keys, pointer, prefixes) == _get_many_via(
            cache, keys, pointer, prefixes
        )
    assert get_many_via(cache, ["k1"], "ptr", ("stamp:",)) == {
        "k1": "stamp",
        "ptr": 7,
        "stamp:7": "s7",
    }


def test_get_many_via_loads_its_script_when_the_server_forgot_it(cache):
    cache.set_many({"k": 1, "ptr": 5, "p:5": 2})
    redis.Redis.from_url(os.environ["REDIS_URL"]).script_flush()
    assert get_many_via(cache, ["k"], "ptr", ("p:",)) == {"k": 1, "ptr": 5, "p:5": 2}


def test_a_pointer_that_is_not_an_int_names_no_key(cache):
    cache.set_many({"ptr": "x", "p:x": 2})
    assert get_many_via(cache, ["k"], "ptr", ("p:",)) == {"ptr": "x"}


def test_get_many_via_with_redis_down_finds_nothing(settings):
    settings.CACHES = {"default": redis_cache("redis://127.0.0.1:1/0")}
    assert get_many_via(caches["default"], ["k"], "ptr", ("p:",)) == {}
