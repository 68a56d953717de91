"""Who a subscription belongs to, as this app sees it.

The reader is the project's user model (`settings.AUTH_USER_MODEL`): subscriptions names
it by that setting in its foreign keys, looks it up through `get_user_model()` and types it
with `Reader`, so that it never imports the accounts app (which sits above it and calls
into it).
"""

from __future__ import annotations

from typing import Any, Protocol


class Reader(Protocol):
    """What subscriptions needs of a user: its id and its address."""

    @property
    def pk(self) -> Any: ...

    @property
    def email(self) -> str: ...
