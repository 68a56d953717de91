"""Who may use the dashboard: active members of the `ops` group, and superusers.
Anonymous visitors are sent to sign in; any other account gets a 403."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from accounts.models import User

OPS_GROUP = "ops"


def is_ops(user: Any) -> bool:
    if not (user.is_authenticated and user.is_active):
        return False
    return bool(user.is_superuser or user.groups.filter(name=OPS_GROUP).exists())


def ops_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @functools.wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not is_ops(request.user):
            raise PermissionDenied("The operations dashboard is for the ops team.")
        return view(request, *args, **kwargs)

    return guarded


def staff(request: HttpRequest) -> User:
    """The signed-in staff member of a guarded view."""
    assert isinstance(request.user, User)
    return request.user
