from typing import Any

from django.apps import AppConfig


def _adopt_meter_on_login(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    """Signing in (or signing up, which signs in) moves the anonymous meter's reads into
    the account. Thin: the work is a metering service."""
    from .paywall.metering import adopt_anonymous_meter

    if request is not None:
        adopt_anonymous_meter(request=request, user_id=user.pk)


def _forget_subscription_state(sender: Any, instance: Any, **kwargs: Any) -> None:
    """Cache invalidation only: the entitlement cache must never outlive a change."""
    from django.db import transaction

    from .selectors import forget_cached_state

    forget_cached_state(user_id=instance.user_id)
    transaction.on_commit(lambda: forget_cached_state(user_id=instance.user_id))


class SubscriptionsConfig(AppConfig):
    name = "subscriptions"
    verbose_name = "Subscriptions"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in
        from django.db.models.signals import post_delete, post_save

        from . import tasks  # noqa: F401  (registers the tasks services dispatch by name)
        from .models import Subscription

        user_logged_in.connect(_adopt_meter_on_login, dispatch_uid="masthead.adopt_meter")
        for signal in (post_save, post_delete):
            signal.connect(
                _forget_subscription_state,
                sender=Subscription,
                dispatch_uid=f"masthead.forget_state.{signal is post_save}",
            )
