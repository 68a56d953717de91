"""config's one table: the version stamp bumps the cache did not take (config/versions.py)."""

from __future__ import annotations

from django.db import models


class LostBump(models.Model):
    """A stamp bump that could not be written to the cache (Redis unreachable): written
    with the change that made it when there is a transaction, and re-applied (a fresh
    stamp) as soon as the cache answers again; then the row goes. One row per stamp."""

    key = models.CharField(max_length=200, unique=True)
    lost_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.key
