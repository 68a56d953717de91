"""Typed reads of the test mailbox (`django.core.mail.outbox`)."""

import re

from django.core.mail import EmailMessage, EmailMultiAlternatives


def alternatives(message: EmailMessage) -> list[tuple[str, str]]:
    """The (content, mimetype) alternative parts of a message: every email we send, and
    allauth's, is an EmailMultiAlternatives whose HTML part is text."""
    assert isinstance(message, EmailMultiAlternatives), type(message)
    parts = []
    for content, mimetype in message.alternatives:
        assert isinstance(content, str), type(content)
        parts.append((content, mimetype))
    return parts


def link_in(pattern: str, message: EmailMessage) -> str:
    """The first group of `pattern` in the message's text body (a link, say)."""
    match = re.search(pattern, str(message.body))
    assert match is not None, f"{pattern!r} not in {message.body!r}"
    return match.group(1)
