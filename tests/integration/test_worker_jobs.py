"""Jobs on the real stack: a Celery worker process on the Redis broker, PostgreSQL.

One test kills the worker (SIGKILL, the whole process group) in the middle of a batch
and shows that nothing is half done and that the rerun finishes the work without
sending any email twice."""

from __future__ import annotations

import itertools
import os
import signal
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from subscriptions.models import AuditEntry, Notification, Subscription
from subscriptions.tasks import JOB_TASKS
from subscriptions.vocabulary import AuditAction
from tests.integration.conftest import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

_emails = itertools.count()


def due_trials(count: int) -> None:
    User = get_user_model()
    users = User.objects.bulk_create(
        [User(email=f"worker{next(_emails)}@example.com") for _ in range(count)]
    )
    ended = timezone.now() - timedelta(hours=1)
    Subscription.objects.bulk_create(
        [Subscription(user=u, status="trialing", trial_ends_at=ended) for u in users]
    )


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
