"""Signed cookies in Django's own format, with the HMAC key derived once per secret.

Django's `set_signed_cookie` / `get_signed_cookie` derive the signing key on every call
(`salted_hmac`: a sha256 of salt and secret, then HMAC's own key set-up). Here the keyed
HMAC for the current SECRET_KEY, cookie name and salt is made once per process and copied
per use: the same bytes Django writes (`value:timestamp:signature`, its v2 cookie salt), so
cookies either side signed stay valid both ways.

Only a cookie signed with the current key under the current salt is checked here; any
other cookie (signed with a key in SECRET_KEY_FALLBACKS, with the legacy salt, forged,
odd) goes through Django's own `get_signed_cookie`, so exactly the cookies Django accepts
are accepted. A custom SIGNING_BACKEND is always left to Django.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from typing import Any

from django.conf import settings
from django.core import signing
from django.utils.encoding import force_bytes

DJANGO_SIGNER = "django.core.signing.TimestampSigner"
# Django's own derivation of a signed cookie's salt and key (what set_signed_cookie uses),
# so a change in Django is followed; tests/paywall/test_signed_cookie.py compares bytes.
_COOKIE_SALT = signing._cookie_signer_salt  # type: ignore[attr-defined]
_COOKIE_KEY = signing._cookie_signer_key  # type: ignore[attr-defined]
_MACS_KEPT = 16  # secrets x cookie names x salts in use: a handful

_macs: dict[tuple[Any, str, str], Any] = {}
_macs_lock = threading.Lock()


def _mac(name: str, salt: str) -> Any:
    """The keyed (not yet fed) HMAC Django's cookie signer uses for this cookie under the
    current SECRET_KEY; None when signing is not Django's default signer."""
    if settings.SIGNING_BACKEND != DJANGO_SIGNER:
        return None
    secret = settings.SECRET_KEY
    key = (secret, name, salt)
    mac = _macs.get(key)
    if mac is None:
        # signing.Signer.signature: salted_hmac(salt + "signer", value, cookie key).
        key_salt = force_bytes(_COOKIE_SALT(name, salt) + "signer")
        derived = hashlib.sha256(key_salt + _COOKIE_KEY(secret)).digest()
        mac = hmac.new(derived, digestmod=hashlib.sha256)
        with _macs_lock:
            if len(_macs) >= _MACS_KEPT:
                _macs.clear()
            _macs[key] = mac
    return mac


def _signature(mac: Any, value: str) -> bytes:
    fed = mac.copy()
    fed.update(force_bytes(value))
    return signing.b64_encode(fed.digest())


def sign(name: str, value: str, *, salt: str) -> str:
    """What `response.set_signed_cookie(name, value, salt=salt)` would store."""
    mac = _mac(name, salt)
    if mac is None:
        return signing.get_cookie_signer(salt=_COOKIE_SALT(name, salt)).sign(value)
    stamped = f"{value}:{signing.b62_encode(int(time.time()))}"
    return f"{stamped}:{_signature(mac, stamped).decode()}"


def unsign(request: Any, name: str, *, salt: str, max_age: int) -> str | None:
    """`request.get_signed_cookie(name, default=None, salt=salt, max_age=max_age)`."""
    signed = request.COOKIES.get(name)
    if signed is None:
        return None
    mac = _mac(name, salt)
    if mac is not None:
        stamped, sep, sig = signed.rpartition(":")
        value, has_stamp, stamp = stamped.rpartition(":")
        if sep and has_stamp and hmac.compare_digest(force_bytes(sig), _signature(mac, stamped)):
            # Ours and intact: only its age is left to check (as Django does, expired
            # under the current key is refused without trying the others).
            if time.time() - signing.b62_decode(stamp) > max_age:
                return None
            return value
    value = request.get_signed_cookie(name, default=None, salt=salt, max_age=max_age)
    return value if isinstance(value, str) else None
