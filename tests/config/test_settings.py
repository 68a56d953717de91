"""Settings built from the environment: what production refuses, what SQLite always gets."""

from __future__ import annotations

import runpy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.settings.base import BASE_DIR

GOOD_KEY = "k9#Qz!v2@Lp7$Xw4^Rt8&Bn1*Mc6(Hy3)Jd5_Fs0+Gu9-Ea2=Wo7"


def _settings(module: str, monkeypatch: pytest.MonkeyPatch, **env: str | None) -> dict[str, Any]:
    """Evaluate a settings module afresh under the given environment."""
    for name, value in env.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    if module == "config.settings.base":  # imported already: run its file as a script
        return runpy.run_path(str(BASE_DIR / "config" / "settings" / "base.py"))
    return runpy.run_module(module, run_name=module)


# --- SECRET_KEY in production ------------------------------------------------------------


def test_production_starts_with_a_long_random_secret_key(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _settings("config.settings.production", monkeypatch, SECRET_KEY=GOOD_KEY)
    assert settings["SECRET_KEY"] == GOOD_KEY
    assert settings["IS_PRODUCTION"] is True  # load_demo refuses to run there


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (None, "SECRET_KEY is not set"),
        ("", "SECRET_KEY is not set"),
        ("short-but-random-3f9a1c", "at least 50 characters"),
        (GOOD_KEY[:49], "at least 50 characters"),
        # The key docker-compose used to ship, and the local default: both are public.
        ("change-me-in-production-please-0123456789", "at least 50 characters"),
        ("insecure-local-only-key-change-me-0123456789abcdef", "published default"),
        ("test-secret-key-not-for-production-0123456789abcdefghij", "published default"),
        ("a" * 60, "too few distinct characters"),
        ("django-insecure-" + GOOD_KEY, "published default"),
    ],
)
def test_production_refuses_a_missing_short_or_published_secret_key(
    monkeypatch: pytest.MonkeyPatch, key: str | None, message: str
) -> None:
    with pytest.raises(ImproperlyConfigured, match=message):
        _settings("config.settings.production", monkeypatch, SECRET_KEY=key)


def test_docker_compose_requires_the_secret_key_from_the_environment() -> None:
    compose = (BASE_DIR / "docker-compose.yml").read_text()
    assert "SECRET_KEY: ${SECRET_KEY:?" in compose
    assert "change-me" not in compose


# --- SQLite, however it is configured ----------------------------------------------------

SQLITE_OPTIONS = {
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
}


def test_default_sqlite_gets_wal_immediate_transactions_and_a_busy_timeout(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    settings = _settings(
        "config.settings.base",
        monkeypatch,
        DATABASE_URL=None,
        SQLITE_PATH=str(tmp_path / "db.sqlite3"),
    )
    assert settings["DATABASES"]["default"]["OPTIONS"] == SQLITE_OPTIONS


def test_sqlite_database_url_gets_the_same_options(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    settings = _settings(
        "config.settings.base", monkeypatch, DATABASE_URL=f"sqlite:///{tmp_path}/db.sqlite3"
    )
    database = settings["DATABASES"]["default"]
    assert database["ENGINE"] == "django.db.backends.sqlite3"
    assert database["NAME"] == f"{tmp_path}/db.sqlite3"
    assert database["OPTIONS"] == SQLITE_OPTIONS


def test_postgres_database_url_gets_no_sqlite_options(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _settings(
        "config.settings.base", monkeypatch, DATABASE_URL="postgres://u@127.0.0.1:5432/x"
    )
    assert "transaction_mode" not in settings["DATABASES"]["default"].get("OPTIONS", {})


# Many threads, each in its own connection, read then write in one transaction — what a
# sign-in does (read the user, write last_login and the session). With deferred
# transactions SQLite cannot upgrade a reader to a writer once another wrote: "database is
# locked" at once, whatever the timeout. Immediate transactions queue behind the timeout.
_CONCURRENT_WRITERS = """
import sys, threading, time
import django
django.setup()
from django.db import OperationalError, connection, connections, transaction

with connection.cursor() as cursor:
    cursor.execute("CREATE TABLE counter (n integer)")
    cursor.execute("INSERT INTO counter VALUES (0)")
connection.close()
errors = []

def work():
    try:
        for _ in range(15):
            try:
                with transaction.atomic(), connection.cursor() as cursor:
                    cursor.execute("SELECT n FROM counter")
                    time.sleep(0.002)
                    cursor.execute("UPDATE counter SET n = n + 1")
            except OperationalError as exc:
                errors.append(str(exc))
    finally:
        connections.close_all()

threads = [threading.Thread(target=work) for _ in range(8)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
with connection.cursor() as cursor:
    cursor.execute("PRAGMA journal_mode")
    mode = cursor.fetchone()[0]
    cursor.execute("SELECT n FROM counter")
    print(len(errors), cursor.fetchone()[0], mode, sorted(set(errors)))
"""


def test_concurrent_writers_on_a_sqlite_database_url_never_see_database_is_locked(
    tmp_path: Path,
) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3",
        "MASTHEAD_VAR_DIR": str(tmp_path / "var"),
    }
    result = subprocess.run(
        [sys.executable, "-c", _CONCURRENT_WRITERS],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    errors, total, mode, messages = result.stdout.strip().split(" ", 3)
    assert (errors, total, mode) == ("0", str(8 * 15), "wal"), messages
