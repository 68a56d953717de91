"""Any change to the catalogue bumps its version stamp, so every process rebuilds what it
derived from it (article snapshots, Related Stories) on its next request."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save

from config import versions

from .selectors import CONTENT_VERSION_KEY


def content_changed(**_: Any) -> None:
    """Now for this transaction's own reads, and again after commit for everyone (a
    process may rebuild from the old rows in between)."""
    versions.bump(CONTENT_VERSION_KEY)
    transaction.on_commit(lambda: versions.bump(CONTENT_VERSION_KEY))


def connect() -> None:
    from .models import Article, EditorialPick, Publication, Publisher, Topic

    for model in (Article, EditorialPick, Publication, Publisher, Topic):
        post_save.connect(content_changed, sender=model, dispatch_uid=f"content-{model.__name__}")
        post_delete.connect(
            content_changed, sender=model, dispatch_uid=f"content-del-{model.__name__}"
        )
    m2m_changed.connect(
        content_changed, sender=Article.topics.through, dispatch_uid="content-article-topics"
    )
