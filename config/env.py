"""The one place settings are read from the environment."""

from __future__ import annotations

import os
import re

from django.core.exceptions import ImproperlyConfigured


class ImproperlyConfiguredEnv(RuntimeError):
    pass


def env_str(name: str, default: str | None = None) -> str:
    value = os.environ.get(name)
    if value is None or value == "":
        if default is None:
            raise ImproperlyConfiguredEnv(f"Set the environment variable {name}.")
        return default
    return value


def env_optional(name: str) -> str | None:
    value = os.environ.get(name, "")
    return value or None


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfiguredEnv(f"{name} must be an integer, got {value!r}.") from exc


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([smhd])[a-z]*\s*$")
_RATE_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """A rate setting as (count, seconds): "5/15m" -> (5, 900), "20/hour" -> (20, 3600),
    "50/1d" -> (50, 86400)."""
    match = _RATE.match(rate)
    if not match:
        raise ImproperlyConfiguredEnv(f"Not a rate: {rate!r} (use e.g. '5/15m' or '20/hour').")
    count, multiplier, unit = match.groups()
    return int(count), int(multiplier or 1) * _RATE_UNIT[unit]


# Keys that were ever written down in this repository: anyone can read them.
PUBLISHED_SECRET_KEYS = frozenset(
    {
        "insecure-local-only-key-change-me-0123456789abcdef",  # the local default
        "test-secret-key-not-for-production-0123456789abcdefghij",  # the test settings
        "change-me-in-production-please-0123456789",  # docker-compose's old default
    }
)


def secret_key_for_production(name: str = "SECRET_KEY") -> str:
    """The secret key, refused if missing, short or public: it signs sessions, password
    reset and email-confirmation links, so a known key lets anyone forge them. The rules
    are those of Django's `check --deploy` (50 characters, 5 distinct), made fatal."""
    value = os.environ.get(name, "")
    if not value:
        raise ImproperlyConfigured(
            f"{name} is not set. Production needs a long random key, e.g. "
            "python -c 'import secrets; print(secrets.token_urlsafe(50))'."
        )
    if len(value) < 50:
        raise ImproperlyConfigured(f"{name} must be at least 50 characters ({len(value)} given).")
    if value in PUBLISHED_SECRET_KEYS or value.startswith("django-insecure-"):
        raise ImproperlyConfigured(f"{name} is a published default: generate a new one.")
    if len(set(value)) < 5:
        raise ImproperlyConfigured(f"{name} has too few distinct characters to be random.")
    return value
