import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import override_settings

from accounts.models import TrialClaim
from accounts.services import trial_claim_verify
from subscriptions.models import Subscription
from tests.factories import ArticleFactory, UserFactory
from tests.mailbox import alternatives

pytestmark = pytest.mark.django_db

User = get_user_model()
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
GOOD_PASSWORD = "correct horse battery staple"
SIGNUP = "/api/v1/auth/signup/"
LOGIN = "/api/v1/auth/login/"
LOGOUT = "/api/v1/auth/logout/"
ME = "/api/v1/me/"


def counts() -> tuple[int, int, int]:
    return User.objects.count(), Subscription.objects.count(), TrialClaim.objects.count()


def assert_error(response, status=400):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) >= {"detail", "code"}
    assert isinstance(body["detail"], str) and body["detail"]
    assert isinstance(body["code"], str) and body["code"]
    return body


@time_machine.travel(NOW, tick=False)
def test_signup_creates_the_account_and_starts_the_trial(
    api_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(
            SIGNUP, {"email": "Ann@Example.org", "password": GOOD_PASSWORD}, format="json"
        )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["token"]
    user = body["user"]
    assert user["email"] == "ann@example.org"
    assert user["entitled"] is True
    sub = user["subscription"]
    assert sub["status"] == "trialing"
    assert sub["plan"] is None
    assert sub["trial_days_left"] == 14
    assert sub["cancel_at_period_end"] is False
    assert sub["current_period_end"] is None
    assert datetime.fromisoformat(sub["trial_ends_at"]) == NOW + timedelta(days=14)
    # the password is hashed, the welcome email went out after commit
    stored = User.objects.get(email="ann@example.org")
    assert stored.password.startswith(("argon2", "md5"))  # md5 only in the test settings
    subjects = [m.subject for m in mail.outbox]
    assert any("free trial has started" in s for s in subjects)
    welcome = next(m for m in mail.outbox if "free trial has started" in m.subject)
    assert welcome.to == ["ann@example.org"]
    assert alternatives(welcome) and alternatives(welcome)[0][1] == "text/html"
    # and, as on the web, a request to confirm the address (never blocking the trial)
    confirm = [m for m in mail.outbox if m is not welcome]
    assert len(confirm) == 1 and confirm[0].to == ["ann@example.org"]
    assert "/accounts/confirm-email/" in confirm[0].body


def test_signup_records_attribution(api_client):
    ArticleFactory(slug="big-story")
    response = api_client.post(
        SIGNUP,
        {"email": "ann@example.org", "password": GOOD_PASSWORD, "from": "big-story"},
        format="json",
    )
    assert response.status_code == 201
    assert TrialClaim.objects.get().article_slug == "big-story"


def test_the_token_works_and_logout_kills_it(api_client):
    token = api_client.post(
        SIGNUP, {"email": "ann@example.org", "password": GOOD_PASSWORD}, format="json"
    ).json()["token"]
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    me = api_client.get(ME)
    assert me.status_code == 200
    assert me.json()["email"] == "ann@example.org"
    assert api_client.post(LOGOUT).status_code == 204
    after = api_client.get(ME)
    assert_error(after, 401)
    assert after["WWW-Authenticate"] == "Token"


def test_me_without_credentials_is_401_with_www_authenticate(api_client):
    response = api_client.get(ME)
    assert_error(response, 401)
    assert response["WWW-Authenticate"] == "Token"


def test_me_with_a_dead_token_is_401(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Token " + "a" * 64)
    response = api_client.get(ME)
    assert_error(response, 401)
    assert response["WWW-Authenticate"] == "Token"


@pytest.mark.parametrize(
    "token",
    [
        "\x00",  # a NUL: PostgreSQL refused the lookup (DataError), a 500
        "a" * 14 + "\x00" + "a" * 49,
        "\xfc",  # not UTF-8 (the header arrives as Latin-1): knox's decode raised, a 500
        "\xe9" * 64,
        "\x7f" * 64,
    ],
)
@pytest.mark.parametrize("path", [ME, LOGOUT])
def test_a_token_that_is_not_printable_ascii_is_401_invalid(api_client, token, path):
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    response = api_client.get(path) if path == ME else api_client.post(path)
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid token.", "code": "authentication_failed"}
    assert response["WWW-Authenticate"] == "Token"


def test_logout_without_credentials_is_401(api_client):
    response = api_client.post(LOGOUT)
    assert_error(response, 401)
    assert response["WWW-Authenticate"] == "Token"


def test_tokens_expire(api_client):
    with time_machine.travel(NOW, tick=False):
        token = api_client.post(
            SIGNUP, {"email": "ann@example.org", "password": GOOD_PASSWORD}, format="json"
        ).json()["token"]
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    with time_machine.travel(NOW + timedelta(days=29), tick=False):
        assert api_client.get(ME).status_code == 200
    with time_machine.travel(NOW + timedelta(days=31), tick=False):
        assert_error(api_client.get(ME), 401)


def test_tokens_are_stored_hashed(api_client):
    from knox.models import AuthToken

    token = api_client.post(
        SIGNUP, {"email": "ann@example.org", "password": GOOD_PASSWORD}, format="json"
    ).json()["token"]
    stored = AuthToken.objects.get()
    assert token not in stored.digest
    assert stored.token_key == token[: len(stored.token_key)]


def test_login_gives_a_token_and_the_user(api_client):
    UserFactory(email="ann@example.org")
    response = api_client.post(
        LOGIN, {"email": "ANN@example.org", "password": GOOD_PASSWORD}, format="json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["token"]
    assert body["user"]["email"] == "ann@example.org"
    assert body["user"]["subscription"]["status"] == "none"
    assert body["user"]["entitled"] is False


def test_login_says_the_same_for_wrong_password_and_unknown_email(api_client):
    UserFactory(email="ann@example.org")
    wrong = assert_error(
        api_client.post(
            LOGIN, {"email": "ann@example.org", "password": "nope-nope-nope"}, format="json"
        )
    )
    unknown = assert_error(
        api_client.post(
            LOGIN, {"email": "bob@example.org", "password": "nope-nope-nope"}, format="json"
        )
    )
    assert wrong == unknown
    assert wrong["code"] == "invalid_credentials"


def test_login_of_an_inactive_account_is_refused(api_client):
    UserFactory(email="ann@example.org", is_active=False)
    assert_error(
        api_client.post(
            LOGIN, {"email": "ann@example.org", "password": GOOD_PASSWORD}, format="json"
        )
    )


BAD_SIGNUPS = [
    pytest.param({}, id="empty"),
    pytest.param({"email": "ann@example.org"}, id="no-password"),
    pytest.param({"password": GOOD_PASSWORD}, id="no-email"),
    pytest.param({"email": "", "password": GOOD_PASSWORD}, id="blank-email"),
    pytest.param({"email": None, "password": GOOD_PASSWORD}, id="null-email"),
    pytest.param({"email": 123, "password": GOOD_PASSWORD}, id="email-number"),
    pytest.param({"email": ["ann@example.org"], "password": GOOD_PASSWORD}, id="email-list"),
    pytest.param({"email": {"a": 1}, "password": GOOD_PASSWORD}, id="email-object"),
    pytest.param({"email": True, "password": GOOD_PASSWORD}, id="email-bool"),
    pytest.param({"email": "ann@example.org", "password": 12345678901}, id="password-number"),
    pytest.param({"email": "ann@example.org", "password": [GOOD_PASSWORD]}, id="password-list"),
    pytest.param({"email": "not-an-email", "password": GOOD_PASSWORD}, id="bad-email"),
    pytest.param(
        {"email": "a" * 250 + "@example.org", "password": GOOD_PASSWORD}, id="email-oversize"
    ),
    pytest.param({"email": "ann@example.org", "password": "x" * 300}, id="password-oversize"),
    pytest.param({"email": "ann@example.org", "password": "short"}, id="password-short"),
    pytest.param({"email": "ann@example.org", "password": "password123"}, id="password-common"),
    pytest.param({"email": "ann@example.org", "password": "83749201938475"}, id="password-numeric"),
    pytest.param(
        {"email": "ann.example@example.org", "password": "ann.example"}, id="password-like-email"
    ),
    pytest.param(
        {"email": "ann@example.org", "password": GOOD_PASSWORD, "from": ["x"]}, id="from-list"
    ),
    pytest.param(
        {"email": "ann@example.org", "password": GOOD_PASSWORD, "from": "s" * 300},
        id="from-oversize",
    ),
]


@pytest.mark.parametrize("payload", BAD_SIGNUPS)
def test_bad_signups_are_400_and_change_nothing(api_client, payload):
    before = counts()
    assert_error(api_client.post(SIGNUP, payload, format="json"))
    assert counts() == before


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"{not json", id="malformed"),
        pytest.param(b'{"email": "ann@example.org", "password": ', id="truncated"),
        pytest.param(b"[]", id="list"),
        pytest.param(b'"ann@example.org"', id="string"),
        pytest.param(b"null", id="null"),
        pytest.param(b"", id="empty-body"),
        pytest.param(b"\xff\xfe", id="not-utf8"),
    ],
)
@pytest.mark.parametrize("url", [SIGNUP, LOGIN])
def test_malformed_bodies_are_400_and_change_nothing(api_client, raw, url):
    before = counts()
    response = api_client.generic("POST", url, raw, content_type="application/json")
    assert_error(response)
    assert counts() == before


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param({}, id="empty"),
        pytest.param({"email": 123, "password": "x"}, id="email-number"),
        pytest.param({"email": ["a@b.c"], "password": "x"}, id="email-list"),
        pytest.param({"email": "a@b.c", "password": None}, id="password-null"),
        pytest.param({"email": "a" * 300, "password": "x"}, id="email-oversize"),
        pytest.param({"email": "a@b.c", "password": "x" * 300}, id="password-oversize"),
    ],
)
def test_bad_logins_are_400(api_client, payload):
    assert_error(api_client.post(LOGIN, payload, format="json"))


@pytest.mark.parametrize(
    "variant",
    ["ann@example.org", "ANN@Example.ORG", "ann+news@example.org", " ann@example.org "],
)
def test_duplicate_email_is_400_and_changes_nothing(api_client, variant):
    assert (
        api_client.post(
            SIGNUP, {"email": "ann@example.org", "password": GOOD_PASSWORD}, format="json"
        ).status_code
        == 201
    )
    before = counts()
    body = assert_error(
        api_client.post(SIGNUP, {"email": variant, "password": GOOD_PASSWORD}, format="json")
    )
    assert body["code"] == "email_taken"
    assert "already exists" in body["detail"]
    assert counts() == before


@pytest.mark.parametrize(
    "variant",
    [
        "Foo.Bar+x@gmail.com",
        "foobar@gmail.com",
        "f.o.o.b.a.r@googlemail.com",
        "FOOBAR+y@GoogleMail.com",
    ],
)
def test_gmail_variants_are_400_and_change_nothing(api_client, variant):
    assert (
        api_client.post(
            SIGNUP, {"email": "foobar@googlemail.com", "password": GOOD_PASSWORD}, format="json"
        ).status_code
        == 201
    )
    before = counts()
    body = assert_error(
        api_client.post(SIGNUP, {"email": variant, "password": GOOD_PASSWORD}, format="json")
    )
    assert body["code"] == "email_taken"
    assert counts() == before


ADDRESS_VARIANTS = [
    ("alice@example.org", '"alice"@example.org'),
    ("bobsmith@gmail.com", '"bob.smith"@gmail.com'),
    ("ann@bücher.de", "ann@xn--bcher-kva.de"),
    ("ann@xn--bcher-kva.de", "ann@BÜCHER.de"),
    ("ann@example.org", "ann@\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45.org"),
]


@pytest.mark.parametrize(("first", "variant"), ADDRESS_VARIANTS)
def test_quoted_idn_and_unicode_variants_are_400_and_change_nothing(api_client, first, variant):
    assert (
        api_client.post(SIGNUP, {"email": first, "password": GOOD_PASSWORD}, format="json")
    ).status_code == 201
    before = counts()
    body = assert_error(
        api_client.post(SIGNUP, {"email": variant, "password": GOOD_PASSWORD}, format="json")
    )
    assert body["code"] == "email_taken"
    assert counts() == before


def test_form_encoded_bodies_are_refused(api_client):
    before = counts()
    response = api_client.post(SIGNUP, {"email": "ann@example.org", "password": GOOD_PASSWORD})
    assert response.status_code == 415
    assert counts() == before


@override_settings(SIGNUP_RATE="3/hour")
def test_signups_are_throttled_per_client_address(api_client):
    for n in range(3):
        assert (
            api_client.post(
                SIGNUP, {"email": f"r{n}@example.org", "password": GOOD_PASSWORD}, format="json"
            ).status_code
            == 201
        )
    before = counts()
    response = api_client.post(
        SIGNUP, {"email": "r9@example.org", "password": GOOD_PASSWORD}, format="json"
    )
    assert_error(response, 429)
    assert int(response["Retry-After"]) > 0
    assert counts() == before
    # another address is not affected
    other = api_client.post(
        SIGNUP,
        {"email": "r8@example.org", "password": GOOD_PASSWORD},
        format="json",
        REMOTE_ADDR="10.0.0.9",
    )
    assert other.status_code == 201


def test_failed_signins_are_throttled_per_email(api_client):
    UserFactory(email="ann@example.org")
    with time_machine.travel(NOW, tick=False):
        for _ in range(5):
            assert_error(
                api_client.post(
                    LOGIN, {"email": "ann@example.org", "password": "wrong-wrong"}, format="json"
                )
            )
        # even the right password is refused now, from any address, for any variant of case
        response = api_client.post(
            LOGIN,
            {"email": "ANN@example.org", "password": GOOD_PASSWORD},
            format="json",
            REMOTE_ADDR="10.0.0.2",
        )
        body = assert_error(response, 429)
        assert body["code"] == "throttled"
        assert 0 < int(response["Retry-After"]) <= 15 * 60
    with time_machine.travel(NOW + timedelta(minutes=15, seconds=1), tick=False):
        assert (
            api_client.post(
                LOGIN, {"email": "ann@example.org", "password": GOOD_PASSWORD}, format="json"
            ).status_code
            == 200
        )


def test_failed_signins_are_throttled_per_client_address(api_client):
    with time_machine.travel(NOW, tick=False):
        for n in range(20):
            assert_error(
                api_client.post(
                    LOGIN, {"email": f"r{n}@example.org", "password": "wrong-wrong"}, format="json"
                )
            )
        response = api_client.post(
            LOGIN, {"email": "new@example.org", "password": "wrong-wrong"}, format="json"
        )
        assert_error(response, 429)
        assert int(response["Retry-After"]) > 0
        # another address can still try
        other = api_client.post(
            LOGIN,
            {"email": "new@example.org", "password": "wrong"},
            format="json",
            REMOTE_ADDR="10.0.0.7",
        )
        assert_error(other, 400)


@override_settings(LOGIN_FAILURES_PER_ADDRESS="1000/15m", LOGIN_LOCKOUT="30/1d")
def test_repeated_failures_from_one_address_lock_it_out(api_client):
    with time_machine.travel(NOW, tick=False):
        for n in range(30):
            assert_error(
                api_client.post(
                    LOGIN, {"email": f"r{n}@example.org", "password": "wrong-wrong"}, format="json"
                )
            )
    with time_machine.travel(NOW + timedelta(hours=12), tick=False):
        response = api_client.post(
            LOGIN, {"email": "x@example.org", "password": "wrong"}, format="json"
        )
        assert_error(response, 429)
        assert int(response["Retry-After"]) > 11 * 3600
    with time_machine.travel(NOW + timedelta(days=1, seconds=1), tick=False):
        assert_error(
            api_client.post(LOGIN, {"email": "x@example.org", "password": "wrong"}, format="json"),
            400,
        )


def test_a_successful_signin_clears_the_email_count(api_client):
    UserFactory(email="ann@example.org")
    for _ in range(4):
        api_client.post(
            LOGIN, {"email": "ann@example.org", "password": "wrong-wrong"}, format="json"
        )
    assert (
        api_client.post(
            LOGIN, {"email": "ann@example.org", "password": GOOD_PASSWORD}, format="json"
        ).status_code
        == 200
    )
    for _ in range(4):
        assert_error(
            api_client.post(
                LOGIN, {"email": "ann@example.org", "password": "wrong-wrong"}, format="json"
            )
        )


def test_me_reflects_the_trial_edges(api_client):
    with time_machine.travel(NOW, tick=False):
        token = api_client.post(
            SIGNUP, {"email": "ann@example.org", "password": GOOD_PASSWORD}, format="json"
        ).json()["token"]
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    end = NOW + timedelta(days=14)
    with time_machine.travel(end - timedelta(seconds=1), tick=False):
        body = api_client.get(ME).json()
        assert body["entitled"] is True
        assert body["subscription"]["trial_days_left"] == 1
    with time_machine.travel(end, tick=False):
        body = api_client.get(ME).json()
        assert body["entitled"] is False
        assert body["subscription"]["status"] == "trialing"  # no expiry job has run yet
        assert body["subscription"]["trial_days_left"] == 0


def test_session_authenticated_me_works_for_the_web(client):
    user = UserFactory(email="ann@example.org")
    client.force_login(user)
    response = client.get(ME)
    assert response.status_code == 200
    assert json.loads(response.content)["email"] == "ann@example.org"


def _signed_up(api_client, email="ann@example.org"):
    token = api_client.post(
        SIGNUP, {"email": email, "password": GOOD_PASSWORD}, format="json"
    ).json()["token"]
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")


@pytest.mark.parametrize(
    "payload",
    [{}, {"password": "wrong-wrong"}, {"password": 123}, {"password": "x" * 300}],
)
def test_delete_account_needs_the_password(api_client, payload):
    _signed_up(api_client)
    before = counts()
    assert_error(api_client.delete(ME, payload, format="json"))
    assert counts() == before
    assert api_client.get(ME).status_code == 200


def test_delete_account_via_the_api(api_client):
    from subscriptions.models import AuditEntry

    _signed_up(api_client)
    trial_claim_verify(user=User.objects.get(), email="ann@example.org")  # binds for good
    response = api_client.delete(ME, {"password": GOOD_PASSWORD}, format="json")
    assert response.status_code == 204
    assert not User.objects.exists()
    sub = Subscription.objects.get()
    assert sub.user is None
    assert AuditEntry.objects.filter(subscription=sub).exists()
    assert TrialClaim.objects.get().user is None
    assert_error(api_client.get(ME), 401)
    # the same person may sign up again, but gets no second trial
    api_client.credentials()
    again = api_client.post(
        SIGNUP, {"email": "Ann+again@example.org", "password": GOOD_PASSWORD}, format="json"
    )
    assert again.status_code == 201
    assert again.json()["user"]["subscription"]["status"] == "none"
    assert again.json()["user"]["entitled"] is False


def test_a_paying_subscriber_must_cancel_before_deleting(api_client):
    _signed_up(api_client)
    Subscription.objects.update(status="active", stripe_subscription_id="sub_1")
    body = assert_error(api_client.delete(ME, {"password": GOOD_PASSWORD}, format="json"))
    assert body["code"] == "subscription_active"
    assert User.objects.count() == 1


@pytest.mark.parametrize("email", ['""@b.de', '"\\ "@b.de', '""@example.org'])
def test_signup_refuses_an_empty_quoted_mailbox(api_client, email):
    """RFC 5321 lets a quoted local part be empty, and Django's validator lets `""@b.de`
    through; no mailbox has that name, and every such address would be one 'person'."""
    before = counts()
    body = assert_error(
        api_client.post(SIGNUP, {"email": email, "password": GOOD_PASSWORD}, format="json")
    )
    assert body["detail"] == "email: Enter a valid email address: the part before the @ is empty."
    assert body["code"] == "invalid"
    assert counts() == before


def test_the_signup_service_refuses_an_empty_quoted_mailbox_too():
    from accounts.services import account_signup
    from config.exceptions import ApplicationError

    before = counts()
    with pytest.raises(ApplicationError) as refused:
        account_signup(email='""@b.de', password=GOOD_PASSWORD)
    assert refused.value.code == "invalid_email"
    assert "part before the @ is empty" in refused.value.message
    assert counts() == before


def test_a_quoted_mailbox_with_a_name_is_still_welcome(api_client):
    payload = {"email": '"ann"@b.de', "password": GOOD_PASSWORD}
    response = api_client.post(SIGNUP, payload, format="json")
    assert response.status_code == 201, response.content
