from typing import Any

from django.apps import AppConfig


def _account_changed(sender: Any, instance: Any, **kwargs: Any) -> None:
    """Cache invalidation only: the cached account record never outlives a change."""
    from .authentication import account_changed

    account_changed(user_id=instance.pk)


def _token_changed(sender: Any, instance: Any, **kwargs: Any) -> None:
    """Cache invalidation only: a revoked API token stops working on the next request."""
    from .authentication import token_changed

    token_changed(token_key=instance.token_key)


def _signed_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    """The session ends: its pointer to the account goes with it (see authentication)."""
    from .authentication import session_ended

    if request is not None:
        session_ended(session_key=getattr(request.session, "session_key", None))


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_out
        from django.db.models.signals import post_delete, post_save
        from knox.models import AuthToken

        from .models import User

        for signal in (post_save, post_delete):
            kind = "save" if signal is post_save else "delete"
            signal.connect(_account_changed, sender=User, dispatch_uid=f"masthead.account.{kind}")
            signal.connect(_token_changed, sender=AuthToken, dispatch_uid=f"masthead.token.{kind}")
        user_logged_out.connect(_signed_out, dispatch_uid="masthead.session.signed_out")
