"""Read events survive a killed web process (issue 13, finding 13).

Without Redis the events sat in a per-process buffer: a SIGKILLed worker lost up to a
batch of them (35 of 1,698 in the attack), and they feed the publishers' statements. A
real server without Redis serves reads, is killed with SIGKILL, and every read it answered
is in the database.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.db import connection

from subscriptions.models import MeterEntry, ReadEvent
from tests.factories import ArticleFactory
from tests.integration.conftest import database_url

pytestmark = [pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server_without_redis(tmp_path, collected_static):
    if connection.vendor != "postgresql":
        pytest.skip("the server needs a database it can share: PostgreSQL")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "READ_EVENTS_SINK"}}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.local",
        DJANGO_DEBUG="0",
        DATABASE_URL=database_url(),
        MASTHEAD_VAR_DIR=str(tmp_path / "var"),
        ALLOWED_HOSTS="127.0.0.1",
    )
    log = open(tmp_path / "server.log", "ab")  # noqa: SIM115 - closed at teardown
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=log,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(f"{base}/healthz", timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    yield base, server
    if server.poll() is None:
        server.kill()
    server.wait(timeout=10)
    log.close()


def test_a_killed_server_without_redis_loses_no_read_event(server_without_redis):
    base, server = server_without_redis
    free = ArticleFactory(access_level="free")
    metered = ArticleFactory.create_batch(3, access_level="metered")
    answered = 0
    for _ in range(7):
        for article in [free, *metered]:
            with urllib.request.urlopen(f"{base}/a/{article.slug}/", timeout=10) as response:
                assert response.status == 200
            answered += 1
    os.kill(server.pid, signal.SIGKILL)  # no atexit, no flush
    server.wait(timeout=10)
    assert ReadEvent.objects.count() == answered
    assert MeterEntry.objects.count() == answered - 7  # each cookie-less read: a new reader
