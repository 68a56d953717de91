"""Jobs on the real stack: a Celery worker process on the Redis broker, PostgreSQL.

One test kills the worker (SIGKILL, the whole process group) in the middle of a batch
and shows that nothing is half done and that the rerun finishes the work without
sending any email twice."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone

from config.celery_app import app as celery_app
from subscriptions.models import AuditEntry, Notification, Subscription
from subscriptions.tasks import JOB_TASKS
from subscriptions.vocabulary import AuditAction

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
_emails = itertools.count()


def database_url() -> str:
    s = connection.settings_dict
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    return f"postgres://{s['USER']}{password}@{s['HOST']}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.fixture
def real_broker():
    if connection.vendor != "postgresql":
        pytest.skip("the worker needs a database it can share: PostgreSQL")
    celery_app.conf.task_always_eager = False
    with celery_app.connection_for_write() as conn:
        conn.default_channel.queue_purge("celery")
    yield
    celery_app.conf.task_always_eager = True


@pytest.fixture
def start_worker(tmp_path, real_broker):
    workers: list[subprocess.Popen[bytes]] = []
    log = open(tmp_path / "worker.log", "ab")  # noqa: SIM115 - closed at teardown
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()

    def start(chunk_size: int = 1000) -> subprocess.Popen[bytes]:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.local",
            "DJANGO_DEBUG": "0",
            "DATABASE_URL": database_url(),
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": str(mail_dir),
            "JOB_CHUNK_SIZE": str(chunk_size),
            "MASTHEAD_VAR_DIR": str(tmp_path / "var"),
        }
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--concurrency",
                "1",
                "--loglevel",
                "WARNING",
                "--without-gossip",
                "--without-mingle",
            ],
            cwd=ROOT,
            env=env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        workers.append(worker)
        return worker

    start.mail_dir = mail_dir  # type: ignore[attr-defined]
    yield start
    for worker in workers:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(10)
    log.close()


def due_trials(count: int) -> None:
    User = get_user_model()
    users = User.objects.bulk_create(
        [User(email=f"worker{next(_emails)}@example.com") for _ in range(count)]
    )
    ended = timezone.now() - timedelta(hours=1)
    Subscription.objects.bulk_create(
        [Subscription(user=u, status="trialing", trial_ends_at=ended) for u in users]
    )


def wait_for(predicate, timeout: float = 90.0, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError("timed out waiting for the worker")


def recipients(mail_dir: Path) -> Counter[str]:
    counts: Counter[str] = Counter()
    for path in mail_dir.glob("*.log"):
        for line in path.read_text().splitlines():
            if line.startswith("To: "):
                counts[line[4:].strip()] += 1
    return counts


def test_a_worker_on_redis_runs_the_scheduled_job(start_worker):
    due_trials(30)
    start_worker()
    JOB_TASKS["expire_trials"].delay()
    wait_for(lambda: Notification.objects.filter(status="sent").count() == 30)
    assert Subscription.objects.filter(status="expired").count() == 30
    sent = recipients(start_worker.mail_dir)
    assert len(sent) == 30 and set(sent.values()) == {1}


def test_killed_mid_batch_leaves_no_half_state_and_the_rerun_sends_nothing_twice(start_worker):
    total = 4000
    due_trials(total)
    worker = start_worker(chunk_size=20)
    JOB_TASKS["expire_trials"].delay()
    wait_for(lambda: Subscription.objects.filter(status="expired").count() >= 200)
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(10)

    expired = Subscription.objects.filter(status="expired").count()
    assert 0 < expired < total, "the batch should have been cut short"
    # Chunks are all-or-nothing: every expired trial has its audit entry and its email
    # owed, and nothing else does.
    assert expired % 20 == 0
    assert AuditEntry.objects.filter(action=AuditAction.TRIAL_EXPIRED).count() == expired
    assert Notification.objects.filter(kind="trial_expired").count() == expired

    start_worker(chunk_size=500)
    JOB_TASKS["expire_trials"].delay()  # the next run finishes the work ...
    wait_for(lambda: Subscription.objects.filter(status="expired").count() == total)
    JOB_TASKS["send_notifications"].delay()  # ... and the sweep sends anything left owed
    wait_for(lambda: Notification.objects.filter(status="sent").count() == total)

    sent = recipients(start_worker.mail_dir)
    assert len(sent) == total
    assert max(sent.values()) == 1, "an email was sent twice"
    assert AuditEntry.objects.filter(action=AuditAction.TRIAL_EXPIRED).count() == total
