"""Thin Celery tasks for our own emails. Enqueued after commit, never sent inline.
(Readers' emails, the welcome included, go through the subscriptions outbox.)"""

from __future__ import annotations

from celery import shared_task

from . import emails


@shared_task(name="accounts.send_rendered_email")
def send_rendered_email(
    *, subject: str, body: str, html: str | None, to: list[str], from_email: str
) -> None:
    """Send a message already rendered in the request (allauth's verification and
    password-reset mails): the request only renders, this task delivers."""
    emails.deliver(subject=subject, body=body, html=html, to=to, from_email=from_email)
