"""One limiter for every sign-in and sign-up: the API, the web pages (allauth) and the
admin count failures and sign-ups in the same atomic counters, behind NUM_PROXIES
proxies, and every throttled answer is a 429 with Retry-After."""

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.contrib.auth import get_user_model

from accounts import limits
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

User = get_user_model()
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
GOOD_PASSWORD = "correct horse battery staple"
API_LOGIN = "/api/v1/auth/login/"
API_SIGNUP = "/api/v1/auth/signup/"


def api_login(api_client, email, password="wrong-wrong", **extra):
    return api_client.post(
        API_LOGIN, {"email": email, "password": password}, format="json", **extra
    )


def web_login(client, email, password="wrong-wrong", **extra):
    return client.post("/login/", {"login": email, "password": password}, **extra)


def admin_login(client, email, password="wrong-wrong", **extra):
    return client.post(
        "/admin/login/?next=/admin/",
        {"username": email, "password": password, "next": "/admin/"},
        **extra,
    )


def assert_throttled(response):
    assert response.status_code == 429, response.status_code
    assert 0 < int(response["Retry-After"]) <= 15 * 60


# --- Finding 2: the admin sign-in is limited like the others ---------------------------


@time_machine.travel(NOW, tick=False)
def test_admin_login_is_limited_per_email(client):
    User.objects.create_superuser(email="boss@example.org", password=GOOD_PASSWORD)
    for _ in range(5):
        response = admin_login(client, "boss@example.org")
        assert response.status_code == 200  # the admin's own "wrong password" page
    response = admin_login(client, "Boss@Example.org", GOOD_PASSWORD)
    assert_throttled(response)
    assert "Too many failed sign-ins" in response.content.decode()
    assert client.get("/admin/").status_code == 302  # not signed in
    with time_machine.travel(NOW + timedelta(minutes=15, seconds=1), tick=False):
        assert admin_login(client, "boss@example.org", GOOD_PASSWORD).status_code == 302
        assert client.get("/admin/").status_code == 200


@time_machine.travel(NOW, tick=False)
def test_admin_login_is_limited_per_client_address(client):
    for n in range(20):
        assert admin_login(client, f"r{n}@example.org").status_code == 200
    assert_throttled(admin_login(client, "new@example.org"))
    assert admin_login(client, "new@example.org", REMOTE_ADDR="10.0.0.7").status_code == 200


def test_a_good_admin_login_clears_the_email_count(client):
    User.objects.create_superuser(email="boss@example.org", password=GOOD_PASSWORD)
    for _ in range(4):
        admin_login(client, "boss@example.org")
    assert admin_login(client, "boss@example.org", GOOD_PASSWORD).status_code == 302
    client.logout()
    for _ in range(4):
        assert admin_login(client, "boss@example.org").status_code == 200


# --- Finding 3: one NUM_PROXIES for DRF, allauth and the admin ---------------------------


@pytest.mark.parametrize("attempt", [api_login, web_login, admin_login])
def test_behind_one_proxy_clients_are_counted_apart(client, api_client, settings, attempt):
    settings.NUM_PROXIES = 1
    settings.LOGIN_FAILURES_PER_ADDRESS = "3/15m"
    the_client = api_client if attempt is api_login else client
    proxy = {"REMOTE_ADDR": "10.9.9.9"}
    for n in range(3):
        attempt(the_client, f"r{n}@example.org", HTTP_X_FORWARDED_FOR="198.51.100.1", **proxy)
    assert_throttled(
        attempt(the_client, "x@example.org", HTTP_X_FORWARDED_FOR="198.51.100.1", **proxy)
    )
    # another reader behind the same proxy is not locked out by the first one's failures
    other = attempt(the_client, "x@example.org", HTTP_X_FORWARDED_FOR="203.0.113.2", **proxy)
    assert other.status_code in (200, 400)
    # the proxy's own address appended after a forged one: the proxy's entry counts
    forged = attempt(
        the_client,
        "y@example.org",
        HTTP_X_FORWARDED_FOR="203.0.113.99, 198.51.100.1",
        **proxy,
    )
    assert_throttled(forged)


@pytest.mark.parametrize("attempt", [api_login, web_login, admin_login])
def test_without_proxies_the_forwarded_header_is_ignored(client, api_client, settings, attempt):
    settings.NUM_PROXIES = 0
    settings.LOGIN_FAILURES_PER_ADDRESS = "3/15m"
    the_client = api_client if attempt is api_login else client
    for n in range(3):
        attempt(the_client, f"r{n}@example.org", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}")
    assert_throttled(attempt(the_client, "x@example.org", HTTP_X_FORWARDED_FOR="203.0.113.2"))


def test_allauth_sees_the_same_client_address(rf, settings):
    from allauth.account.adapter import get_adapter

    settings.NUM_PROXIES = 1
    request = rf.post("/login/", HTTP_X_FORWARDED_FOR="198.51.100.1", REMOTE_ADDR="10.9.9.9")
    assert get_adapter().get_client_ip(request) == "198.51.100.1"
    assert limits.client_address(request) == "198.51.100.1"
    settings.NUM_PROXIES = 0
    assert get_adapter().get_client_ip(request) == "10.9.9.9"


# --- Finding 11: one counter for the API, the web and the admin --------------------------

SURFACES: dict[str, Callable[..., Any]] = {"api": api_login, "web": web_login, "admin": admin_login}


@pytest.mark.parametrize(
    ("failing_on", "then_on"),
    [(a, b) for a in SURFACES for b in SURFACES if a != b],
)
@time_machine.travel(NOW, tick=False)
def test_failures_on_one_surface_count_on_the_others(client, api_client, failing_on, then_on):
    User.objects.create_superuser(email="ann@example.org", password=GOOD_PASSWORD)
    first, then = SURFACES[failing_on], SURFACES[then_on]
    for _ in range(5):
        response = first(api_client if failing_on == "api" else client, "ann@example.org")
        assert response.status_code in (200, 400)
    response = then(
        api_client if then_on == "api" else client,
        "ANN@example.org",
        GOOD_PASSWORD,
        REMOTE_ADDR="10.0.0.2",
    )
    assert_throttled(response)


@time_machine.travel(NOW, tick=False)
def test_a_throttled_web_signin_is_a_429_that_says_why(client):
    UserFactory(email="ann@example.org")
    for _ in range(5):
        assert web_login(client, "ann@example.org").status_code == 200
    response = web_login(client, "ann@example.org", GOOD_PASSWORD)
    assert_throttled(response)
    assert "Too many failed login attempts" in response.content.decode()
    assert client.get("/account/").status_code == 302


def test_signups_share_one_rate_on_the_web_and_the_api(client, api_client, settings):
    settings.SIGNUP_RATE = "2/hour"
    assert (
        api_client.post(
            API_SIGNUP, {"email": "a1@example.org", "password": GOOD_PASSWORD}, format="json"
        ).status_code
        == 201
    )
    assert (
        client.post("/signup/", {"email": "a2@example.org", "password1": GOOD_PASSWORD})
    ).status_code == 302
    client.logout()
    web = client.post("/signup/", {"email": "a3@example.org", "password1": GOOD_PASSWORD})
    assert web.status_code == 429
    assert int(web["Retry-After"]) > 0
    api = api_client.post(
        API_SIGNUP, {"email": "a4@example.org", "password": GOOD_PASSWORD}, format="json"
    )
    assert api.status_code == 429
    assert User.objects.count() == 2


def test_racing_wrong_passwords_pass_the_limit_exactly_five_times():
    """Counted before the password is checked, with the cache's atomic increment: twenty
    guesses at once for one email get five tries between them, not twenty."""
    threads_n = 20
    barrier = threading.Barrier(threads_n)
    outcomes: list[str] = []
    lock = threading.Lock()

    def guess(n: int) -> None:
        barrier.wait()
        try:
            limits.signin_begin(email="ann@example.org", address=f"198.51.100.{n}")
        except limits.Throttled:
            outcome = "throttled"
        else:
            outcome = "tried"
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(threads_n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert outcomes.count("tried") == 5
    assert outcomes.count("throttled") == threads_n - 5


def test_allauths_own_paths_share_the_limits(client, settings):
    """/accounts/signup/ and /accounts/login/ (allauth's mounts) count and answer 429 as
    /signup/ and /login/ do."""
    settings.SIGNUP_RATE = "1/hour"
    first = client.post("/signup/", {"email": "a1@example.org", "password1": GOOD_PASSWORD})
    assert first.status_code == 302
    client.logout()
    again = client.post(
        "/accounts/signup/", {"email": "a2@example.org", "password1": GOOD_PASSWORD}
    )
    assert again.status_code == 429
    assert User.objects.count() == 1

    UserFactory(email="ann@example.org")
    for _ in range(5):
        web_login(client, "ann@example.org")
    response = client.post(
        "/accounts/login/", {"login": "ann@example.org", "password": GOOD_PASSWORD}
    )
    assert_throttled(response)
