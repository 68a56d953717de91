from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.subscriptions.stripe_double import StripeDouble, running_double


@pytest.fixture(scope="session")
def stripe_double_process() -> Iterator[StripeDouble]:
    """localstripe + our extension in a subprocess on a random 127.0.0.1 port."""
    with running_double() as double:
        yield double
