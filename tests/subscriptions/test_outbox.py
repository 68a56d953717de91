"""The one outbox: every kind renders from its templates with absolute links, `notify()`
owes an email once per (reader, kind, period) and one task sends it after commit."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.core.mail.backends import locmem

from subscriptions.models import Notification, NotificationStatus
from subscriptions.services import notifications
from subscriptions.vocabulary import NotificationKind
from tests.factories import UserFactory
from tests.mailbox import alternatives

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("kind", list(NotificationKind))
def test_every_kind_is_an_email_from_templates_with_absolute_links(
    kind, django_capture_on_commit_callbacks
):
    user = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        assert notifications.notify(user_id=user.pk, kind=kind, period="2026-05-01")
    [message] = mail.outbox
    assert message.to == [user.email]
    assert message.subject.startswith("Welcome to") or message.subject.startswith(
        f"{settings.SITE_NAME}:"
    )
    assert "\n" not in message.subject
    html = alternatives(message)[0][0]
    assert f"{settings.SITE_URL}/" in message.body
    assert f'href="{settings.SITE_URL}/' in html
    assert Notification.objects.get(user=user).status == NotificationStatus.SENT


def test_notify_owes_each_reader_kind_and_period_once(django_capture_on_commit_callbacks):
    user = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        first = notifications.notify(
            user_id=user.pk, kind=NotificationKind.PAYMENT_FAILED, period="in_1:1"
        )
        again = notifications.notify(
            user_id=user.pk, kind=NotificationKind.PAYMENT_FAILED, period="in_1:1"
        )
        other = notifications.notify(
            user_id=user.pk, kind=NotificationKind.PAYMENT_FAILED, period="in_1:2"
        )
    assert (first, again, other) == (True, False, True)
    assert len(mail.outbox) == 2


def test_nothing_is_sent_before_commit(django_capture_on_commit_callbacks):
    user = UserFactory()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        notifications.notify(user_id=user.pk, kind=NotificationKind.DUNNING, period="d")
    assert mail.outbox == []
    assert len(callbacks) == 1


class _SlowFirstSend(locmem.EmailBackend):
    """Django's test outbox; the first message it sends takes longer than a claim lasts,
    and meanwhile another run of the sender starts (`during_first`)."""

    during_first: list[Callable[[], None]] = []

    def send_messages(self, messages: Any) -> int:
        while self.during_first:
            self.during_first.pop()()
        return super().send_messages(messages)


def test_a_run_that_outlasts_its_claim_never_sends_twice(
    settings, django_capture_on_commit_callbacks
):
    """A run whose batch outlasted its claim (a slow mail server) skips the messages
    another run reclaimed meanwhile: every reader gets one email."""
    users = UserFactory.create_batch(3)
    with django_capture_on_commit_callbacks(execute=False):
        for user in users:
            notifications.notify(user_id=user.pk, kind=NotificationKind.DUNNING, period="d")
    settings.EMAIL_BACKEND = f"{__name__}._SlowFirstSend"
    with time_machine.travel(datetime(2026, 5, 1, 9, 0, tzinfo=UTC), tick=False) as clock:

        def overtaken() -> None:
            clock.shift(timedelta(seconds=settings.NOTIFICATION_CLAIM_TIMEOUT + 1))
            notifications.send(user_ids=[user.pk for user in users[1:]])

        _SlowFirstSend.during_first = [overtaken]
        notifications.send()

    assert sorted(m.to[0] for m in mail.outbox) == sorted(u.email for u in users)
    assert set(Notification.objects.values_list("status", flat=True)) == {NotificationStatus.SENT}


def test_an_email_is_owed_to_one_account_or_one_address():
    user = UserFactory()
    with pytest.raises(ValueError):
        notifications.notify(
            user_id=user.pk, email="x@example.org", kind=NotificationKind.WELCOME, period="p"
        )
    with pytest.raises(ValueError):
        notifications.notify(kind=NotificationKind.WELCOME, period="p")
    assert not Notification.objects.exists()
