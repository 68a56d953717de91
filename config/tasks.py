"""config's one job: the sweep that re-applies version stamp bumps the cache lost."""

from __future__ import annotations

from celery import shared_task

from config import versions

REAPPLY_LOST_BUMPS = "versions.reapply_lost_bumps"


@shared_task(name=REAPPLY_LOST_BUMPS)
def reapply_lost_bumps() -> int:
    """Every minute (beat): see config/versions.py."""
    return versions.reapply_lost_bumps()
