"""The session store: Django's cached_db, whose cached data can arrive with the request's
first cache round trip (`accounts.authentication` reads it there with the account's
record), so that a signed-in reader's session costs no round trip of its own.

`SESSION_ENGINE = "accounts.sessions"`: the same cache keys and table as cached_db, so
sessions made by either are read by the other.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.sessions.backends import cached_db
from django.core.cache import DEFAULT_CACHE_ALIAS


class SessionStore(cached_db.SessionStore):
    def cached_data_key(self) -> str | None:
        """The default cache's key of this session's data, while there is something to
        load (a session key, nothing loaded yet) and the sessions live in that cache."""
        if (
            self.session_key is None
            or hasattr(self, "_session_cache")
            or settings.SESSION_CACHE_ALIAS != DEFAULT_CACHE_ALIAS
        ):
            return None
        return self.cache_key_prefix + self.session_key

    def preload(self, data: Any) -> None:
        """What the cache held under `cached_data_key()`, read elsewhere: the session's
        data as `load()` would have found it there. Nothing (a miss) changes nothing:
        `load()` then looks in the cache and the database as usual."""
        if isinstance(data, dict) and not hasattr(self, "_session_cache"):
            self._session_cache = data
