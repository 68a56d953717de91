"""The metered new reader (issue 12, fast path): an anonymous reader with no meter cookie
reading a metered article runs no SQL. Its meter id was issued by this very request, so
its first read cannot race anything: the signed cookie carries the read, and the read
event carries the meter row to the database (the drain writes it). Until then the cookie
is ahead of the database, and every later counted read of that reader writes the
cookie's reads first, under the reader's lock: exactly N free reads per window however
late the drain runs. The tests' sink is `memory`: nothing is drained unless a test
flushes it."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth import login
from django.contrib.sessions.backends.db import SessionStore
from django.http import HttpRequest
from django.test import Client
from rest_framework.test import APIClient

from articles import pages
from subscriptions.models import MeterEntry, ReadEvent
from subscriptions.paywall import events, metering, rules
from tests.factories import ArticleFactory, PublicationFactory, UserFactory
from tests.paywall.conftest import api_sign_up

pytestmark = pytest.mark.django_db

CHANNELS = ["api", "web"]
WINDOWS = ["month", "rolling"]
NOW = datetime(2026, 11, 18, 9, 30, 15, 250_000, tzinfo=UTC)


@pytest.fixture(autouse=True)
def meter_of_three(settings):
    settings.METER_FREE_ARTICLES = 3
    settings.METER_WINDOW = "month"
    settings.METER_ROLLING_DAYS = 30


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def path(article, channel):
    return f"/api/v1/articles/{article.slug}/" if channel == "api" else f"/a/{article.slug}/"


def read(client, article, channel="api"):
    pages.forget_local_stories()  # a web story is rendered (not cached): its context
    response = client.get(path(article, channel))
    assert response.status_code == 200
    if channel == "api":
        return response.json()["access"]
    return response.context["decision"].as_dict()


def cookie_of(client) -> tuple[str | None, list[metering.CountedRead] | None]:
    """The meter id and the reads the client's signed meter cookie carries."""
    request = HttpRequest()
    request.COOKIES["mh_meter"] = client.cookies["mh_meter"].value
    key = metering.cookie_reader_key(request)
    return key, metering.cookie_reads(request)


def meter_rows(key=None):
    rows = MeterEntry.objects.order_by("article_id")
    if key is not None:
        rows = rows.filter(reader_key=key)
    return list(rows.values_list("reader_key", "article_id"))


@pytest.mark.parametrize("channel", CHANNELS)
def test_a_new_readers_first_read_runs_no_sql_and_the_cookie_carries_it(
    channel, frozen, django_assert_num_queries
):
    article = ArticleFactory(access_level="metered")
    Client().get(path(article, channel))  # another reader warms the shared caches
    events.flush()
    MeterEntry.objects.all().delete()
    client = Client()
    with django_assert_num_queries(0):
        access = read(client, article, channel)
    assert access["granted"] and access["reason"] == "metered"
    assert access["meter"] == {"limit": 3, "used": 1, "remaining": 2}
    _, reads = cookie_of(client)
    assert reads == [metering.CountedRead(article.pk, article.publication_id, int(NOW.timestamp()))]
    assert not MeterEntry.objects.exists()  # not yet: the read event carries it


@pytest.mark.parametrize("window", WINDOWS)
def test_the_drain_writes_the_new_readers_meter_row_once(settings, window, frozen):
    settings.METER_WINDOW = window
    article = ArticleFactory(access_level="metered")
    client = Client()
    read(client, article)
    key, _ = cookie_of(client)
    assert events.flush() == 1
    assert events.flush() == 0
    entry = MeterEntry.objects.get()
    assert (entry.reader_key, entry.article_id, entry.publication_id) == (
        key,
        article.pk,
        article.publication_id,
    )
    assert entry.created_at == NOW
    assert entry.window_start == (NOW.date() if window == "rolling" else date(2026, 11, 1))
    event = ReadEvent.objects.get()  # the flag is the meter's, not a column of the event
    assert (event.reader_key, event.granted, event.reason) == (key, True, "metered")


def test_a_drain_after_the_next_read_wrote_the_row_adds_nothing(frozen):
    first, second = ArticleFactory.create_batch(2, access_level="metered")
    client = Client()
    read(client, first)
    read(client, second)  # writes the first read from the cookie, then counts its own
    key, _ = cookie_of(client)
    assert meter_rows() == [(key, first.pk), (key, second.pk)]
    assert events.flush() == 2
    assert meter_rows() == [(key, first.pk), (key, second.pk)]


@pytest.mark.parametrize("window", WINDOWS)
@pytest.mark.parametrize("channel", CHANNELS)
def test_exactly_the_meter_before_the_drain_has_run(settings, channel, window, frozen):
    settings.METER_WINDOW = window
    client = Client()
    articles = ArticleFactory.create_batch(5, access_level="metered")
    seen = [read(client, a, channel) for a in articles]
    assert [s["granted"] for s in seen] == [True, True, True, False, False]
    assert seen[-1]["reason"] == "meter_exhausted"
    key, _ = cookie_of(client)
    assert meter_rows() == [(key, a.pk) for a in articles[:3]]
    assert read(client, articles[0], channel)["granted"]  # a re-read stays free


@pytest.mark.parametrize("window", WINDOWS)
def test_replaying_the_first_cookie_before_the_drain_gains_nothing(settings, window, frozen):
    """The first cookie carries a read the database does not have yet: the next counted
    read writes it, so an older cookie's tab cannot count it twice."""
    settings.METER_WINDOW = window
    settings.METER_FREE_ARTICLES = 2
    articles = ArticleFactory.create_batch(4, access_level="metered")
    client = Client()
    read(client, articles[0])
    first_cookie = client.cookies["mh_meter"].value
    assert read(client, articles[1])["granted"]
    assert read(client, articles[2])["reason"] == "meter_exhausted"
    client.cookies["mh_meter"] = first_cookie  # another tab's older answer
    assert read(client, articles[3])["reason"] == "meter_exhausted"
    assert read(client, articles[0])["granted"]  # counted: a re-read
    assert len(meter_rows()) == 2


def test_a_title_cap_holds_before_the_drain_has_run(settings, frozen):
    settings.METER_FREE_ARTICLES = 5
    capped = PublicationFactory()
    rules.rule_set(scope="publication", target_id=capped.pk, free_articles_cap=2)
    first, second, third = ArticleFactory.create_batch(
        3, publication=capped, access_level="metered"
    )
    elsewhere = ArticleFactory(access_level="metered")
    client = Client()
    assert read(client, first)["meter"] == {"limit": 2, "used": 1, "remaining": 1}
    first_cookie = client.cookies["mh_meter"].value
    assert read(client, second)["meter"] == {"limit": 2, "used": 2, "remaining": 0}
    assert read(client, third)["reason"] == "meter_exhausted"
    client.cookies["mh_meter"] = first_cookie  # the tab that saw one read of the title
    assert read(client, third)["reason"] == "meter_exhausted"
    assert read(client, elsewhere)["meter"] == {"limit": 5, "used": 3, "remaining": 2}
    assert MeterEntry.objects.filter(publication=capped).count() == 2


def test_a_title_cap_of_one_is_the_new_readers_one_read(frozen):
    capped = PublicationFactory()
    rules.rule_set(scope="publication", target_id=capped.pk, free_articles_cap=1)
    first, second = ArticleFactory.create_batch(2, publication=capped, access_level="metered")
    client = Client()
    assert read(client, first)["granted"]
    assert read(client, second)["reason"] == "meter_exhausted"


def test_no_meter_at_all_walls_the_new_reader(settings, django_assert_num_queries):
    settings.METER_FREE_ARTICLES = 0
    article = ArticleFactory(access_level="metered")
    Client().get(path(article, "api"))
    client = Client()
    with django_assert_num_queries(0):
        assert read(client, article)["reason"] == "meter_exhausted"
    events.flush()
    assert not MeterEntry.objects.exists()


def test_api_sign_up_right_after_the_first_read_carries_it_into_the_account(frozen):
    app = APIClient()
    article = ArticleFactory(access_level="metered")
    read(app, article)  # the drain has not run: only the cookie knows this read
    user_key = api_sign_up(app)
    assert meter_rows(user_key) == [(user_key, article.pk)]


def test_signing_in_right_after_the_first_read_carries_it_into_the_account(rf, frozen):
    user = UserFactory()
    client = Client()
    article, second, third, fourth = ArticleFactory.create_batch(4, access_level="metered")
    read(client, article, "web")
    request = rf.post("/login/")
    request.COOKIES["mh_meter"] = client.cookies["mh_meter"].value
    request.session = SessionStore()
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    assert meter_rows() == [(f"u:{user.pk}", article.pk)]
    events.flush()  # the drain comes later: the account keeps its one read
    assert meter_rows(f"u:{user.pk}") == [(f"u:{user.pk}", article.pk)]
    client.force_login(user)
    assert read(client, second, "web")["meter"] == {"limit": 3, "used": 2, "remaining": 1}
    assert read(client, third, "web")["granted"]
    assert read(client, fourth, "web")["reason"] == "meter_exhausted"


@pytest.fixture
def redis_down(settings, monkeypatch):
    """The Redis sink with nobody listening at REDIS_URL: a refused connection."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings.READ_EVENTS_SINK = "redis"
    settings.REDIS_URL = f"redis://127.0.0.1:{port}/0"
    monkeypatch.setattr(events, "_redis_client", None)  # a client for that address


def test_redis_down_writes_the_new_readers_meter_row_at_once(redis_down, frozen):
    article = ArticleFactory(access_level="metered")
    client = Client()
    assert read(client, article)["granted"]
    key, _ = cookie_of(client)
    assert meter_rows() == [(key, article.pk)]
    assert ReadEvent.objects.get().reader_key == key


def test_the_direct_sink_writes_the_new_readers_meter_row_with_its_event(settings, frozen):
    settings.READ_EVENTS_SINK = "direct"
    articles = ArticleFactory.create_batch(4, access_level="metered")
    client = Client()
    assert [read(client, a)["granted"] for a in articles] == [True, True, True, False]
    key, _ = cookie_of(client)
    assert meter_rows() == [(key, a.pk) for a in articles[:3]]
    assert ReadEvent.objects.count() == 4


@pytest.mark.parametrize("forged", ["garbage", "abc~1.2.3:sig", "x" * 5000])
def test_a_forged_cookie_is_a_new_reader(forged, settings, django_assert_num_queries):
    settings.METER_FREE_ARTICLES = 1
    article = ArticleFactory(access_level="metered")
    Client().get(path(article, "web"))
    client = Client()
    client.cookies["mh_meter"] = forged
    with django_assert_num_queries(0):
        assert read(client, article, "web")["granted"]
    key, reads = cookie_of(client)
    assert key is not None and reads is not None and [r.article_id for r in reads] == [article.pk]
    assert read(client, ArticleFactory(access_level="metered"), "web")["granted"] is False


def test_the_new_reader_is_metered_by_the_month_it_reads_in():
    client = Client()
    articles = ArticleFactory.create_batch(4, access_level="metered")
    with time_machine.travel(datetime(2026, 11, 30, 23, 59, 59, tzinfo=UTC), tick=False):
        read(client, articles[0])  # November's read, still only in the cookie
    with time_machine.travel(datetime(2026, 12, 1, 0, 0, 1, tzinfo=UTC), tick=False):
        assert [read(client, a)["granted"] for a in articles[1:]] == [True, True, True]
        assert read(client, ArticleFactory(access_level="metered"))["granted"] is False
    events.flush()
    windows = MeterEntry.objects.values_list("article_id", "window_start")
    assert sorted(windows) == [
        (articles[0].pk, date(2026, 11, 1)),
        *[(a.pk, date(2026, 12, 1)) for a in articles[1:]],
    ]


def test_a_rolling_window_drops_the_carried_read_when_it_ages_out(settings):
    settings.METER_WINDOW = "rolling"
    settings.METER_ROLLING_DAYS = 7
    client = Client()
    articles = ArticleFactory.create_batch(5, access_level="metered")
    with time_machine.travel(NOW, tick=False):
        read(client, articles[0])  # only in the cookie
    with time_machine.travel(NOW + timedelta(days=7, seconds=1), tick=False):
        assert [read(client, a)["granted"] for a in articles[1:4]] == [True, True, True]
        assert read(client, articles[4])["reason"] == "meter_exhausted"
    assert [a for _, a in meter_rows()] == [a.pk for a in articles[1:4]]  # not the aged one
