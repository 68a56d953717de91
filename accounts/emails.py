"""Our emails: rendered from text + HTML templates, sent by accounts.tasks."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from subscriptions.models import Subscription

from .models import User


def deliver(*, subject: str, body: str, html: str | None, to: list[str], from_email: str) -> None:
    message = EmailMultiAlternatives(subject, body, from_email, to)
    if html:
        message.attach_alternative(html, "text/html")
    message.send()


def send_welcome(*, user_id: int) -> None:
    """Welcome / trial started, at most once per account (safe when the task runs twice:
    the send is recorded in the same transaction). Nothing when the account is gone."""
    with transaction.atomic():
        claimed = User.objects.filter(pk=user_id, welcome_email_sent_at__isnull=True).update(
            welcome_email_sent_at=timezone.now()
        )
        user = User.objects.filter(pk=user_id).first()
        if not claimed or user is None:
            return
        _send_welcome(user)


def _send_welcome(user: User) -> None:
    sub = Subscription.objects.filter(user_id=user.pk).first()
    context = {
        "user": user,
        "subscription": sub,
        "trialing": bool(sub and sub.status == "trialing"),
        "trial_days": settings.TRIAL_DAYS,
        "site_name": settings.SITE_NAME,
        "account_url": f"{settings.SITE_URL}/account/",
    }
    subject = render_to_string("accounts/email/welcome_subject.txt", context)
    deliver(
        subject=" ".join(subject.split()),
        body=render_to_string("accounts/email/welcome_message.txt", context),
        html=render_to_string("accounts/email/welcome_message.html", context),
        to=[user.email],
        from_email=settings.DEFAULT_FROM_EMAIL,
    )
