"""Services schedule background work through here, by task name, once the transaction
commits: they never import `subscriptions.tasks` (which imports them)."""

from __future__ import annotations

from typing import Any

from celery import current_app
from django.db import transaction

SEND_NOTIFICATIONS = "notifications.send"
PROCESS_STRIPE_EVENT = "subscriptions.tasks.process_stripe_event"
DRAIN_STRIPE_EVENTS = "subscriptions.tasks.drain_stripe_events"


def _send(task_name: str, args: tuple[Any, ...]) -> None:
    # A signature by name runs the registered task (eagerly too, under test settings).
    current_app.signature(task_name, args=args).delay()


def send_now(task_name: str, *args: Any, **kwargs: Any) -> None:
    """Enqueue `task_name` at once (the caller runs after its own commit)."""
    current_app.signature(task_name, args=args, kwargs=kwargs).delay()


def after_commit(task_name: str, *args: Any, robust: bool = False) -> None:
    """Enqueue `task_name(*args)` when the current transaction commits (at once outside
    one). `robust`: a failed enqueue is logged, not raised (a sweep job catches up)."""

    def send() -> None:  # a function, not a partial: Django logs a robust hook's failure
        _send(task_name, args)  # by its __qualname__, which a partial lacks (500)

    transaction.on_commit(send, robust=robust)
