"""The meter cookie's signature with a precomputed key (subscriptions/paywall/signed_cookie.py):
Django's exact format both ways, key rotation through SECRET_KEY_FALLBACKS, and every
forged, tampered, stale or foreign cookie still refused."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.http import HttpResponse
from django.test import Client, RequestFactory

from subscriptions.paywall import metering, signed_cookie
from tests.factories import ArticleFactory

NAME, SALT, MAX_AGE = "mh_meter", metering.COOKIE_SALT, 400 * 24 * 3600
T0 = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)


def django_signed(value: str, salt: str = SALT) -> str:
    response = HttpResponse()
    response.set_signed_cookie(NAME, value, salt=salt)
    return response.cookies[NAME].value


def carrying(signed: str):
    request = RequestFactory().get("/")
    request.COOKIES[NAME] = signed
    return request


def unsign(signed: str) -> str | None:
    return signed_cookie.unsign(carrying(signed), NAME, salt=SALT, max_age=MAX_AGE)


@time_machine.travel(T0, tick=False)
@pytest.mark.parametrize("value", ["abc", "meter-id~12.3.1777896000~4.5.1777896001", "é"])
def test_the_same_bytes_as_django_both_ways(value):
    ours = signed_cookie.sign(NAME, value, salt=SALT)
    assert ours == django_signed(value)
    assert unsign(django_signed(value)) == value
    assert carrying(ours).get_signed_cookie(NAME, salt=SALT, max_age=MAX_AGE) == value


@pytest.mark.parametrize(
    "edit",
    [
        lambda s: s.replace("meter", "metre", 1),  # the value
        lambda s: s[:-2] + ("AA" if s[-2:] != "AA" else "BB"),  # the signature
        lambda s: s.rsplit(":", 1)[0],  # no signature
        lambda s: s.rsplit(":", 2)[0] + ":" + s.rsplit(":", 1)[1],  # no timestamp
        lambda s: "",
        lambda s: "garbage",
        lambda s: "a:b:c:d",
        lambda s: s + "é",
    ],
)
def test_a_forged_or_tampered_cookie_is_refused(edit):
    assert unsign(edit(signed_cookie.sign(NAME, "meter-id", salt=SALT))) is None


def test_another_salt_or_cookie_name_is_refused():
    assert unsign(django_signed("meter-id", salt="another.salt")) is None
    response = HttpResponse()
    response.set_signed_cookie("other", "meter-id", salt=SALT)
    assert unsign(response.cookies["other"].value) is None


def test_a_stale_cookie_is_refused():
    with time_machine.travel(T0, tick=False):
        signed = signed_cookie.sign(NAME, "meter-id", salt=SALT)
    with time_machine.travel(T0 + timedelta(seconds=MAX_AGE - 60), tick=False):
        assert unsign(signed) == "meter-id"
    with time_machine.travel(T0 + timedelta(seconds=MAX_AGE + 60), tick=False):
        assert unsign(signed) is None


def test_a_new_secret_takes_effect_and_the_old_one_works_only_as_a_fallback(settings):
    settings.SECRET_KEY = "the-old-secret-" + "x" * 40
    signed = signed_cookie.sign(NAME, "meter-id", salt=SALT)
    assert unsign(signed) == "meter-id"
    settings.SECRET_KEY = "the-new-secret-" + "y" * 40
    assert unsign(signed) is None  # no key made for the old secret is used any more
    settings.SECRET_KEY_FALLBACKS = ["the-old-secret-" + "x" * 40]
    assert unsign(signed) == "meter-id"  # rotation: the fallback still verifies it
    resigned = signed_cookie.sign(NAME, "meter-id", salt=SALT)
    assert resigned != signed and unsign(resigned) == "meter-id"
    settings.SECRET_KEY_FALLBACKS = []
    assert unsign(resigned) == "meter-id" and unsign(signed) is None


def test_the_legacy_salt_cookie_is_still_accepted():
    """What devtools' demo history sends (`meter_cookie_value`): Django's legacy salt."""
    assert unsign(metering.meter_cookie_value("demo-meter")) == "demo-meter"


def test_a_custom_signing_backend_is_left_to_django(settings):
    settings.SIGNING_BACKEND = "django.core.signing.TimestampSigner"
    ours = signed_cookie.sign(NAME, "meter-id", salt=SALT)
    settings.SIGNING_BACKEND = "tests.paywall.test_signed_cookie.ColonFreeSigner"
    theirs = signed_cookie.sign(NAME, "meter-id", salt=SALT)
    assert theirs != ours and theirs.startswith("meter-id;")
    assert unsign(theirs) == "meter-id"
    assert unsign(ours) is None


class ColonFreeSigner:
    """A signing backend of another format (used by the test above)."""

    def __init__(self, **kwargs):
        from django.core import signing

        self.inner = signing.TimestampSigner(sep=";", **kwargs)

    def sign(self, value):
        return self.inner.sign(value)

    def unsign(self, value, max_age=None):
        return self.inner.unsign(value, max_age=max_age)


def test_the_request_checks_the_cookie_it_carries_now():
    """The per-request check follows the cookie's value (a request whose cookie changed is
    checked again), and a forged cookie on the same request is refused."""
    request = carrying(signed_cookie.sign(NAME, "first-id", salt=SALT))
    assert metering.cookie_reader_key(request) == "a:first-id"
    request.COOKIES[NAME] = signed_cookie.sign(NAME, "second-id", salt=SALT)
    assert metering.cookie_reader_key(request) == "a:second-id"
    request.COOKIES[NAME] = "second-id:forged:signature"
    assert metering.cookie_reader_key(request) is None


@pytest.mark.django_db
def test_a_cookie_from_before_the_change_still_meters_the_same_reader(settings):
    """A browser's cookie set by Django's own signing keeps its meter."""
    settings.METER_FREE_ARTICLES = 1
    first, second = ArticleFactory.create_batch(2, access_level="metered")
    client = Client()
    client.get(f"/a/{first.slug}/")
    meter_id = client.cookies[NAME].value.split("~")[0].split(":")[0]
    reads = client.cookies[NAME].value.rsplit(":", 2)[0]
    assert reads.startswith(meter_id)
    client.cookies[NAME] = django_signed(reads)
    assert "wall-heading" in client.get(f"/a/{second.slug}/").content.decode()
    assert "wall-heading" not in client.get(f"/a/{first.slug}/").content.decode()
