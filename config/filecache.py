"""The local cache without Redis (`make run`): Django's file cache, with add/incr/decr made
atomic across processes. Django's own are read-then-write, so parallel sign-in guesses
in gunicorn's workers each read the same count and the limiter let several times its
limit through; here one lock file under the cache directory serialises them."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.filebased import FileBasedCache
from django.core.files import locks


class AtomicFileBasedCache(FileBasedCache):
    def __init__(self, dir: str, params: dict[str, Any]):
        super().__init__(dir, params)
        self._counter_dir = os.path.abspath(dir)

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        os.makedirs(self._counter_dir, 0o700, exist_ok=True)
        with open(os.path.join(self._counter_dir, "counters.lock"), "ab") as lock_file:
            locks.lock(lock_file, locks.LOCK_EX)
            try:
                yield
            finally:
                locks.unlock(lock_file)

    def add(
        self,
        key: Any,
        value: Any,
        timeout: float | None = DEFAULT_TIMEOUT,
        version: int | None = None,
    ) -> bool:
        with self._exclusive():
            return super().add(key, value, timeout, version)

    def incr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        with self._exclusive():
            return super().incr(key, delta, version)
