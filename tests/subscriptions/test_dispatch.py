"""Background work is enqueued after commit; a robust enqueue that fails (the broker
down) is logged and the request goes on (it was a 500: Django names a failed robust hook
by its __qualname__, which a functools.partial lacks)."""

import pytest
from django.db import transaction

from subscriptions.services.dispatch import after_commit
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_failed_robust_enqueue_is_logged_not_raised(caplog):
    with transaction.atomic():
        user = UserFactory()
        after_commit("no.such.task", user.pk, robust=True)
    assert "in on_commit()" in caplog.text
    user.refresh_from_db()  # committed


def test_a_failed_enqueue_that_is_not_robust_still_raises():
    # Sending an unregistered task by name fails here (celery's AlwaysEagerIgnored warning
    # is an error under pytest's filterwarnings), as an enqueue to a dead broker does.
    with pytest.raises(Exception), transaction.atomic():  # noqa: B017
        after_commit("no.such.task", robust=False)
