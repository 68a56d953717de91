"""Writes about accounts: sign up (user + trial in one transaction), API tokens, delete."""

from __future__ import annotations

from datetime import datetime

from django.apps import apps
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.dateformat import format as date_format
from knox.models import AuthToken

from config.exceptions import ApplicationError
from subscriptions import paywall
from subscriptions.models import Subscription, SubscriptionStatus
from subscriptions.services.notifications import WELCOME_PERIOD, notify
from subscriptions.services.trials import TrialAlreadyUsed, trial_start
from subscriptions.vocabulary import NotificationKind

from . import selectors
from .authentication import account_changed
from .identity import identity_hash, validate_reader_email
from .models import TrialClaim, User

MAX_EMAIL_LENGTH = 254


class EmailAlreadyRegistered(ApplicationError):
    def __init__(self) -> None:
        super().__init__(
            "An account already exists for this email address. Sign in instead.",
            code="email_taken",
        )


def reader_trial_start(
    *,
    user: User,
    from_article_slug: str | None = None,
    reader_key: str | None = None,
    now: datetime | None = None,
) -> Subscription:
    """Start the reader's free trial, once per person: the subscription's trial
    (`subscriptions.services.trials.trial_start`) and the person's TrialClaim, all or
    nothing. `reader_key` is the anonymous meter the reader signs up from (their walls
    before the account existed count for attribution). Raises TrialAlreadyUsed /
    EmailAlreadyRegistered when this person (by normalised email) had a trial before."""
    now = now or timezone.now()
    with transaction.atomic():
        sub = trial_start(
            user=user, from_article_slug=from_article_slug, reader_key=reader_key, now=now
        )
        _trial_claim(user=user, from_article_slug=from_article_slug, now=now)
    return sub


def _trial_claim(*, user: User, from_article_slug: str | None, now: datetime) -> None:
    """Insert the person's TrialClaim or refuse: EmailAlreadyRegistered when a live
    account holds the claim, TrialAlreadyUsed when only a deleted account's claim is left.
    A claim that no longer binds (unverified, its account gone from the address) is taken
    over instead, so an address's owner is never locked out by a squatter."""
    digest = identity_hash(user.email)
    article = None
    slug = (from_article_slug or "").strip()
    if slug:
        article = apps.get_model("articles", "Article").objects.filter(slug=slug[:200]).first()
    try:
        with transaction.atomic():
            TrialClaim.objects.create(
                identity_hash=digest,
                user=user,
                claimed_at=now,
                article=article,
                article_slug=article.slug if article else "",
            )
    except IntegrityError:
        # The claim row alone is locked and its user read after the lock: a join would
        # be re-checked against the user the claim had before a racing take-over, drop
        # the row and let the racer through without a claim.
        holder = TrialClaim.objects.select_for_update().filter(identity_hash=digest).first()
        if holder is not None and not holder.binds() and holder.user_id != user.pk:
            # An unverified claim whose account left the address: it gives way.
            holder.user = user
            holder.claimed_at = now
            holder.article = article
            holder.article_slug = article.slug if article else ""
            holder.verified_at = None
            holder.save()
            return
        if holder is not None and holder.user_id not in (None, user.pk):
            raise EmailAlreadyRegistered() from None
        raise TrialAlreadyUsed() from None


def signup_complete(
    *,
    user: User,
    from_article_slug: str | None = None,
    reader_key: str | None = None,
    now: datetime | None = None,
) -> Subscription | None:
    """What follows creating an account, on the web and in the API: start the trial and
    send the welcome email after commit. A person whose earlier (deleted) account had
    the trial gets an account without a second trial (None)."""
    try:
        sub: Subscription | None = reader_trial_start(
            user=user, from_article_slug=from_article_slug, reader_key=reader_key, now=now
        )
    except TrialAlreadyUsed:
        sub = None
    ends = sub.trial_ends_at if sub and sub.status == SubscriptionStatus.TRIALING else None
    notify(
        user_id=user.pk,
        kind=NotificationKind.WELCOME,
        period=WELCOME_PERIOD,
        context={
            "trialing": ends is not None,
            "trial_days": settings.TRIAL_DAYS,
            "trial_ends": date_format(ends, "j F Y, H:i") if ends else "",
        },
        now=now,
    )
    return sub


def account_signup(
    *,
    email: str,
    password: str,
    from_article_slug: str | None = None,
    reader_key: str | None = None,
    now: datetime | None = None,
) -> User:
    """Create the account and start its trial, all or nothing. The address is stored
    lowercased, as allauth's web sign-up does. `reader_key`: the anonymous meter the
    reader signs up from (for the trial's attribution)."""
    email = email.strip().lower()
    if len(email) > MAX_EMAIL_LENGTH:
        raise ApplicationError("That email address is too long.", code="invalid_email")
    try:
        validate_reader_email(email)
    except ValidationError as exc:
        raise ApplicationError(" ".join(exc.messages), code="invalid_email") from None
    if selectors.email_in_use(email=email):
        raise EmailAlreadyRegistered()
    candidate = User(email=email)
    try:
        validate_password(password, user=candidate)
    except ValidationError as exc:
        raise ApplicationError(" ".join(exc.messages), code="weak_password") from None
    try:
        with transaction.atomic():
            user = User.objects.create_user(email=email, password=password)
            _record_email_address(user)
            signup_complete(
                user=user, from_article_slug=from_article_slug, reader_key=reader_key, now=now
            )
    except IntegrityError:
        # Another sign-up with this address won the race.
        raise EmailAlreadyRegistered() from None
    return user


def verification_email_send(*, request: HttpRequest, user: User) -> None:
    """Ask the reader to confirm their address, as the web sign-up does (never blocking:
    the trial has started already). allauth renders it; our adapter sends it after commit."""
    from allauth.account.models import EmailAddress

    address = EmailAddress.objects.get_primary(user)
    if address is not None and not address.verified:
        address.send_confirmation(request, signup=True)


def trial_claim_verify(*, user: User, email: str, now: datetime | None = None) -> None:
    """The reader verified `email`: if their trial claim is on that address, it now binds
    for good (see `TrialClaim.binds`)."""
    TrialClaim.objects.filter(
        user_id=user.pk, identity_hash=identity_hash(email), verified_at__isnull=True
    ).update(verified_at=now or timezone.now())


def _record_email_address(user: User) -> None:
    """allauth's (unverified, primary) address row, as its web sign-up would make."""
    from allauth.account.models import EmailAddress

    EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=False)


def api_token_create(*, user: User) -> str:
    """A new API token (stored hashed by knox, expires after REST_KNOX TOKEN_TTL)."""
    _instance, token = AuthToken.objects.create(user=user)
    User.objects.filter(pk=user.pk).update(last_login=timezone.now())
    account_changed(user_id=user.pk)  # an update() sends no signal
    return token


def api_token_revoke(*, token: AuthToken) -> None:
    token.delete()


def api_tokens_revoke_all(*, user: User) -> None:
    """Sign the reader out of every app (after a password change or reset)."""
    AuthToken.objects.filter(user=user).delete()


def account_delete(*, user: User, password: str) -> None:
    """Delete the reader's account: the user row and everything personal goes (tokens,
    email addresses, sessions); the Subscription and its audit trail stay with user=NULL;
    the TrialClaim keeps only the email's hash, so there is no second trial."""
    if not user.check_password(password):
        raise ApplicationError(
            "That password is not right, so your account was not deleted.",
            code="wrong_password",
        )
    with transaction.atomic():
        sub = Subscription.objects.select_for_update().filter(user_id=user.pk).first()
        if sub is not None and sub.billed_by_stripe:
            raise ApplicationError(
                "You have a paid subscription: cancel it from Manage billing first, "
                "then delete your account.",
                code="subscription_active",
            )
        paywall.forget_reader(user_id=user.pk)
        user.delete()
