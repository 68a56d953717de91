"""The paywall end to end through the article API and the article page."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth import login
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client

from articles import pages
from subscriptions.models import MeterEntry, ReadEvent
from subscriptions.paywall import events, rules
from tests.factories import ArticleFactory, PublicationFactory, UserFactory
from tests.paywall.conftest import BODY, HIDDEN, api_sign_up, reader_client

pytestmark = pytest.mark.django_db

CHANNELS = ["api", "web"]


def read(client, article, channel):
    if channel == "api":
        response = client.get(f"/api/v1/articles/{article.slug}/")
        assert response.status_code == 200
        return response.json()["access"]
    pages.forget_local_stories()  # the story is rendered (not cached): its context
    response = client.get(f"/a/{article.slug}/")
    assert response.status_code == 200
    return response.context["decision"].as_dict()


@pytest.fixture(autouse=True)
def meter_of_three(settings):
    settings.METER_FREE_ARTICLES = 3
    settings.METER_WINDOW = "month"


@pytest.mark.parametrize("channel", CHANNELS)
def test_anonymous_reader_gets_exactly_the_meter_then_the_wall(channel):
    client = Client()
    articles = ArticleFactory.create_batch(5, access_level="metered", body=BODY)
    seen = [read(client, a, channel) for a in articles]
    assert [s["granted"] for s in seen] == [True, True, True, False, False]
    assert [s["reason"] for s in seen][-1] == "meter_exhausted"
    assert [s["meter"]["remaining"] for s in seen] == [2, 1, 0, 0, 0]
    # re-reading a counted article is free and spends nothing
    assert read(client, articles[0], channel) == {**seen[0], "meter": seen[2]["meter"]}
    assert MeterEntry.objects.count() == 3


def test_api_and_web_share_one_meter():
    client = Client()
    a, b, c, d = ArticleFactory.create_batch(4, access_level="metered")
    read(client, a, "api")
    read(client, b, "web")
    read(client, c, "api")
    assert read(client, d, "web")["reason"] == "meter_exhausted"


def test_meter_cookie_is_signed_httponly_samesite_and_names_only_counted_reads():
    client = Client()
    article = ArticleFactory(access_level="metered")
    response = client.get(f"/a/{article.slug}/")
    cookie = response.cookies["mh_meter"]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"
    value, _, signature = cookie.value.rpartition(":")
    assert signature  # django's signature
    _meter_id, read_entry = value.rsplit(":", 1)[0].split("~")
    assert read_entry.startswith(f"{article.pk}.{article.publication_id}.")


@pytest.mark.parametrize("forged", ["garbage", "abc:def:ghi", "", "x" * 5000])
def test_forged_cookie_is_a_new_reader_never_an_error(forged):
    client = Client()
    client.cookies["mh_meter"] = forged
    response = client.get(f"/a/{ArticleFactory(access_level='metered').slug}/")
    assert response.status_code == 200
    assert response.context["decision"].granted
    assert response.cookies["mh_meter"].value != forged


def test_editing_the_cookie_gains_nothing():
    client = Client()
    articles = ArticleFactory.create_batch(4, access_level="metered")
    for a in articles[:3]:
        read(client, a, "web")
    value = client.cookies["mh_meter"].value
    meter_id, signature = value.split(":", 1)
    client.cookies["mh_meter"] = f"{meter_id}x:{signature}"  # tampered id
    fresh = read(client, articles[3], "web")
    assert fresh["granted"]  # a tampered cookie is simply a new anonymous reader ...
    client.cookies["mh_meter"] = value  # ... and the real one is still exhausted
    assert read(client, ArticleFactory(access_level="metered"), "web")["granted"] is False


def test_signed_in_reader_is_metered_by_account_across_devices():
    user = UserFactory()
    phone, laptop = Client(), Client()
    phone.force_login(user)
    laptop.force_login(user)
    a, b, c, d = ArticleFactory.create_batch(4, access_level="metered")
    read(phone, a, "web")
    read(laptop, b, "api")
    read(phone, c, "api")
    assert read(laptop, d, "web")["reason"] == "meter_exhausted"


def test_signing_in_moves_the_anonymous_meter_into_the_account(rf):
    user = UserFactory()
    client = Client()
    a, b, c = ArticleFactory.create_batch(3, access_level="metered")
    read(client, a, "web")
    read(client, b, "web")
    # Sign in the way every login view does: django.contrib.auth.login on the request
    # that carries the reader's cookies.
    request = rf.post("/login/")
    request.COOKIES["mh_meter"] = client.cookies["mh_meter"].value
    request.session = SessionStore()
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    assert set(MeterEntry.objects.values_list("reader_key", flat=True)) == {f"u:{user.pk}"}
    client.force_login(user)
    assert read(client, c, "web")["meter"] == {"limit": 3, "used": 3, "remaining": 0}


def test_adoption_keeps_one_entry_when_both_meters_counted_the_article(rf):
    user = UserFactory()
    anonymous, signed_in = Client(), Client()
    signed_in.force_login(user)
    shared = ArticleFactory(access_level="metered")
    read(anonymous, shared, "web")
    read(signed_in, shared, "web")
    request = rf.post("/login/")
    request.COOKIES["mh_meter"] = anonymous.cookies["mh_meter"].value
    request.session = SessionStore()
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    assert list(MeterEntry.objects.values_list("reader_key", flat=True)) == [f"u:{user.pk}"]


def test_title_cap_limits_reads_from_that_title(settings):
    settings.METER_FREE_ARTICLES = 5
    capped = PublicationFactory()
    rules.rule_set(scope="publication", target_id=capped.pk, free_articles_cap=1)
    client = Client()
    first, second = ArticleFactory.create_batch(2, publication=capped, access_level="metered")
    elsewhere = ArticleFactory(access_level="metered")
    assert read(client, first, "api")["meter"] == {"limit": 1, "used": 1, "remaining": 0}
    assert read(client, second, "api")["reason"] == "meter_exhausted"
    assert read(client, elsewhere, "api")["meter"] == {"limit": 5, "used": 2, "remaining": 3}


def test_calendar_month_window_resets_the_meter():
    client = Client()
    with time_machine.travel(datetime(2026, 11, 29, 12, tzinfo=UTC), tick=False):
        articles = ArticleFactory.create_batch(4, access_level="metered")
        for a in articles[:3]:
            read(client, a, "api")
        assert read(client, articles[3], "api")["granted"] is False
    with time_machine.travel(datetime(2026, 12, 1, 0, 0, 1, tzinfo=UTC), tick=False):
        assert read(client, articles[3], "api")["meter"]["remaining"] == 2


def test_rolling_window(settings):
    settings.METER_WINDOW = "rolling"
    settings.METER_ROLLING_DAYS = 7
    client = Client()
    start = datetime(2026, 11, 1, 12, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        articles = ArticleFactory.create_batch(4, access_level="metered")
        for a in articles[:3]:
            read(client, a, "api")
    with time_machine.travel(start + timedelta(days=6), tick=False):
        assert read(client, articles[3], "api")["granted"] is False
        assert read(client, articles[0], "api")["granted"] is True  # counted, re-read free
    with time_machine.travel(start + timedelta(days=7, hours=1), tick=False):
        assert read(client, articles[3], "api")["granted"] is True


@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize(
    ("kind", "level", "granted", "reason"),
    [
        ("anonymous", "premium", False, "subscribers_only"),
        ("signed_in", "premium", False, "subscribers_only"),
        ("lapsed", "premium", False, "subscribers_only"),
        ("past_due_over", "premium", False, "subscribers_only"),
        ("anonymous", "registered", False, "registration_required"),
        ("signed_in", "registered", True, "registered"),
        ("anonymous", "free", True, "free"),
        ("lapsed", "free", True, "free"),
        ("trial", "premium", True, "trial"),
        ("subscriber", "premium", True, "subscriber"),
        ("complimentary", "premium", True, "complimentary"),
        ("past_due_grace", "premium", True, "subscriber"),
    ],
)
def test_levels_by_reader(kind, level, granted, reason, channel):
    client = reader_client(kind, api=channel == "api")
    access = read(client, ArticleFactory(access_level=level), channel)
    assert (access["granted"], access["reason"]) == (granted, reason)


def test_rule_resolution_article_then_title_then_publisher_then_site(settings):
    settings.PAYWALL_DEFAULT_LEVEL = "metered"
    pub = PublicationFactory()
    inherit = ArticleFactory(publication=pub)
    override = ArticleFactory(publication=pub, access_level="free")
    client = Client()
    assert read(client, inherit, "api")["level"] == "metered"
    rules.rule_set(scope="site", access_level="registered")
    assert read(client, inherit, "api")["level"] == "registered"
    rules.rule_set(scope="publisher", target_id=pub.publisher_id, access_level="premium")
    assert read(client, inherit, "api")["level"] == "premium"
    rules.rule_set(scope="publication", target_id=pub.pk, access_level="free")
    assert read(client, inherit, "api")["level"] == "free"
    rules.rule_set(scope="publication", target_id=pub.pk, access_level=None)
    assert read(client, inherit, "api")["level"] == "premium"  # falls back to the publisher
    assert read(client, override, "api")["level"] == "free"


def test_a_rule_change_takes_effect_on_the_next_view(api_client):
    pub = PublicationFactory()
    article = ArticleFactory(publication=pub, body=BODY)
    rules.rule_set(scope="publication", target_id=pub.pk, access_level="free")
    assert api_client.get(f"/api/v1/articles/{article.slug}/").json()["body_html"]
    rules.rule_set(scope="publication", target_id=pub.pk, access_level="premium")
    body = api_client.get(f"/api/v1/articles/{article.slug}/").json()
    assert body["body_html"] is None
    assert body["access"]["reason"] == "subscribers_only"
    listing = api_client.get(f"/api/v1/articles/?publication={pub.slug}").json()
    assert listing["results"][0]["access_level"] == "premium"
    pubs = api_client.get("/api/v1/publications/").json()["results"]
    assert pubs[0]["access_level"] == "premium"


def test_preview_paragraphs_follow_the_rule(api_client):
    pub = PublicationFactory()
    rules.rule_set(
        scope="publication", target_id=pub.pk, access_level="premium", preview_paragraphs=1
    )
    body = api_client.get(f"/api/v1/articles/{ArticleFactory(publication=pub, body=BODY).slug}/")
    assert body.json()["preview_html"] == "<p>Opening paragraph that anyone may read.</p>"


def test_every_decision_is_recorded_as_a_read_event():
    client = Client()
    free = ArticleFactory(access_level="free")
    premium = ArticleFactory(access_level="premium")
    read(client, free, "web")
    read(client, premium, "api")
    events.flush()
    rows = list(
        ReadEvent.objects.order_by("id").values(
            "article_id", "granted", "reason", "channel", "publication_id"
        )
    )
    assert rows == [
        {
            "article_id": free.pk,
            "granted": True,
            "reason": "free",
            "channel": "web",
            "publication_id": free.publication_id,
        },
        {
            "article_id": premium.pk,
            "granted": False,
            "reason": "subscribers_only",
            "channel": "api",
            "publication_id": premium.publication_id,
        },
    ]


def test_a_crawler_user_agent_gets_no_special_treatment():
    client = Client(HTTP_USER_AGENT="Mozilla/5.0 (compatible; Googlebot/2.1)")
    response = client.get(f"/a/{ArticleFactory(access_level='premium', body=BODY).slug}/")
    assert HIDDEN not in response.content.decode()


@pytest.mark.parametrize("channel", CHANNELS)
def test_gated_answers_are_private_and_vary(channel):
    article = ArticleFactory(access_level="premium")
    path = f"/api/v1/articles/{article.slug}/" if channel == "api" else f"/a/{article.slug}/"
    response = Client().get(path)
    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]
    assert {"Cookie", "Authorization"} <= {v.strip() for v in response["Vary"].split(",")}


@pytest.mark.parametrize("reader", ["anonymous", "signed_in", "subscriber"])
@pytest.mark.parametrize("level", ["free", "premium"])
def test_the_web_page_headers_are_exactly_private_no_store_and_vary(reader, level):
    """The page sets both headers itself (no parsing): the same values Django's
    patch_cache_control and patch_vary_headers write, whatever the middleware adds."""
    article = ArticleFactory(access_level=level)
    response = reader_client(reader, api=False).get(f"/a/{article.slug}/")
    assert response["Cache-Control"] == "private, no-store"
    assert response["Vary"] == "Cookie, Authorization"


def test_paywalled_page_carries_googles_structured_data():
    response = Client().get(f"/a/{ArticleFactory(access_level='premium').slug}/")
    html = response.content.decode()
    assert '"isAccessibleForFree": false' in html
    assert '"cssSelector": ".paywalled-content"' in html
    assert "articleBody" not in html


def test_the_wall_offers_the_trial_and_sign_in_returning_to_the_article():
    article = ArticleFactory(access_level="premium", body=BODY)
    html = Client().get(f"/a/{article.slug}/").content.decode()
    assert "Sign up to read this article" in html
    assert "Fourteen days free" in html
    assert "Already a member? Sign in here" in html
    assert f"/signup/?next=/a/{article.slug}/" in html
    assert f"/login/?next=/a/{article.slug}/" in html
    assert "Opening paragraph that anyone may read." in html


def test_metered_readers_see_what_is_left_this_month():
    html = Client().get(f"/a/{ArticleFactory(access_level='metered').slug}/").content.decode()
    assert "You have 2 free articles left this month." in html


def test_the_offer_says_the_trial_the_settings_give(settings):
    """TRIAL_DAYS and TRIAL_REQUIRES_CARD, not a fixed "Fourteen days free, no card"."""
    settings.TRIAL_DAYS, settings.TRIAL_REQUIRES_CARD = 7, True
    article = ArticleFactory(access_level="premium", body=BODY)
    wall = Client().get(f"/a/{article.slug}/").content.decode()
    assert "Seven days free" in wall and "Fourteen" not in wall
    assert "no card needed" not in wall
    home = Client().get("/").content.decode()
    assert ">Seven days free</a>" in home
    signup = Client().get("/signup/").content.decode()
    assert "<h1>Seven days free</h1>" in signup and "No card needed" not in signup


def test_the_offer_words_its_days():
    from articles.context_processors import trial_offer

    assert trial_offer(14) == "Fourteen days free"
    assert trial_offer(1) == "One day free"
    assert trial_offer(30) == "30 days free"


def test_a_rolling_meter_is_not_called_this_month(settings):
    settings.METER_WINDOW, settings.METER_ROLLING_DAYS = "rolling", 30
    client = Client()
    notes = [
        client.get(f"/a/{ArticleFactory(access_level='metered').slug}/").content.decode()
        for _ in range(settings.METER_FREE_ARTICLES + 1)
    ]
    assert "You have 2 free articles left; each read counts for 30 days." in notes[0]
    assert "You have read your free articles in the last 30 days." in notes[-1]
    assert not any("this month" in html for html in notes)


def test_the_flush_task_writes_buffered_events():
    from subscriptions.tasks import JOB_TASKS

    read(Client(), ArticleFactory(access_level="free"), "web")
    assert ReadEvent.objects.count() == 0
    assert JOB_TASKS["flush_read_events"].delay().get() == "flush_read_events: 1 processed"
    assert ReadEvent.objects.count() == 1


def test_api_sign_up_and_sign_in_move_the_anonymous_meter_into_the_account():
    from rest_framework.test import APIClient

    app = APIClient()
    first, second = ArticleFactory.create_batch(2, access_level="metered")
    app.get(f"/api/v1/articles/{first.slug}/")
    app.get(f"/api/v1/articles/{second.slug}/")
    user_key = api_sign_up(app)
    assert list(MeterEntry.objects.values_list("reader_key", flat=True)) == [user_key] * 2


def test_deleting_an_account_forgets_its_meter_and_unnames_its_reads():
    user = UserFactory(password="pw-to-delete-123")
    client = Client()
    client.force_login(user)
    read(client, ArticleFactory(access_level="metered"), "web")
    events.flush()
    from accounts.services import account_delete

    account_delete(user=user, password="pw-to-delete-123")
    assert not MeterEntry.objects.exists()
    event = ReadEvent.objects.get()
    assert event.user_id is None and event.reader_key.startswith("deleted:")


def test_signed_in_readers_without_access_are_offered_the_plans_not_a_trial():
    client = reader_client("lapsed", api=False)
    html = client.get(f"/a/{ArticleFactory(access_level='premium', body=BODY).slug}/").content
    html = html.decode()
    assert "Subscribe to read this article" in html
    assert "/account/?next=" in html
    assert "Fourteen days free" not in html
    assert "Already a member? Sign in here" not in html
    assert HIDDEN not in html


@pytest.mark.parametrize("channel", CHANNELS)
def test_head_requests_spend_no_meter_and_record_no_read(channel):
    client = Client()
    article = ArticleFactory(access_level="metered")
    path = f"/api/v1/articles/{article.slug}/" if channel == "api" else f"/a/{article.slug}/"
    for _ in range(5):
        assert client.head(path).status_code == 200
    events.flush()
    assert not MeterEntry.objects.exists()
    assert not ReadEvent.objects.exists()


def test_the_cookie_carries_the_counted_reads_and_a_replayed_old_cookie_gains_nothing():
    client = Client()
    articles = ArticleFactory.create_batch(5, access_level="metered")
    read(client, articles[0], "web")
    first_cookie = client.cookies["mh_meter"].value
    read(client, articles[1], "web")
    read(client, articles[2], "web")
    assert read(client, articles[3], "web")["granted"] is False
    # Replaying the cookie from after the first read: the database still says three.
    client.cookies["mh_meter"] = first_cookie
    assert read(client, articles[4], "web")["reason"] == "meter_exhausted"
    assert read(client, articles[0], "web")["granted"] is True  # a re-read stays free
    assert MeterEntry.objects.count() == 3


def test_a_reader_whose_cookie_fell_behind_is_metered_by_the_database(django_assert_num_queries):
    client = Client()
    a, b, c, d = ArticleFactory.create_batch(4, access_level="metered")
    read(client, a, "web")
    behind = client.cookies["mh_meter"].value
    read(client, b, "web")
    read(client, c, "web")
    client.cookies["mh_meter"] = behind  # another tab's older answer
    assert read(client, b, "web")["granted"] is True  # counted in the database: a re-read
    assert read(client, d, "web")["reason"] == "meter_exhausted"
    # The wall answer brought the cookie up to date: the next wall costs no SQL.
    with django_assert_num_queries(0):
        assert read(client, d, "web")["reason"] == "meter_exhausted"


def test_a_meter_too_long_for_a_cookie_is_kept_in_the_database_only(settings):
    from subscriptions.paywall import metering

    settings.METER_FREE_ARTICLES = metering.COOKIE_READS_MAX + 2
    client = Client()
    articles = ArticleFactory.create_batch(metering.COOKIE_READS_MAX + 3, access_level="metered")
    for article in articles[:-1]:
        assert read(client, article, "api")["granted"]
    assert len(client.cookies["mh_meter"].value) < 200  # the id only
    assert read(client, articles[-1], "api")["reason"] == "meter_exhausted"
    assert read(client, articles[0], "api")["granted"]  # a re-read, from the database
