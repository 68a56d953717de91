"""The one outbox: every kind renders from its templates with absolute links, `notify()`
owes an email once per (reader, kind, period) and one task sends it after commit."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core import mail

from subscriptions.models import Notification, NotificationStatus
from subscriptions.services import notifications
from subscriptions.vocabulary import NotificationKind
from tests.factories import UserFactory

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
    html = message.alternatives[0][0]
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
