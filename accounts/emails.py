"""Delivery of mails rendered elsewhere (allauth's, by accounts.tasks). Readers' own
emails, the welcome included, go through `subscriptions.services.notifications`."""

from __future__ import annotations

from django.core.mail import EmailMultiAlternatives


def deliver(*, subject: str, body: str, html: str | None, to: list[str], from_email: str) -> None:
    message = EmailMultiAlternatives(subject, body, from_email, to)
    if html:
        message.attach_alternative(html, "text/html")
    message.send()
