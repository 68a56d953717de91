from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.subscriptions.stripe_double import StripeDouble, running_double
from tests.subscriptions.stripe_payloads import post_event


@pytest.fixture(scope="session")
def stripe_double_process() -> Iterator[StripeDouble]:
    """localstripe + our extension in a subprocess on a random 127.0.0.1 port."""
    with running_double() as double:
        yield double


@pytest.fixture
def deliver(client, django_capture_on_commit_callbacks):
    """POST each signed event to the webhook and run what intake does after commit."""

    def _deliver(*events: dict[str, Any]) -> list[Any]:
        responses = []
        for evt in events:
            with django_capture_on_commit_callbacks(execute=True):
                responses.append(post_event(client, evt))
        return responses

    return _deliver
