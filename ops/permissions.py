"""The `ops` group may view every model of ours in the admin.

Granted after every `migrate` (post_migrate), so a model added later by any app gets its
view permission without a migration of its own in `ops` (whose order against the other
apps' migrations nothing fixes). Adding what the group has is a no-op.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions

OPS_GROUP = "ops"
VIEW_APPS = ("accounts", "articles", "subscriptions", "publishers", "django_celery_beat")


def ops_view_grant(*, apps: Any = global_apps) -> int:
    """Give the ops group the view permission of every model of VIEW_APPS; the count of
    view permissions it holds for them afterwards."""
    try:
        Group = apps.get_model("auth", "Group")
        Permission = apps.get_model("auth", "Permission")
    except LookupError:  # a migrate that stops before auth's tables exist
        return 0
    installed = {config.label for config in global_apps.get_app_configs()}
    for label in VIEW_APPS:
        if label in installed:  # settings without one of them still migrate
            create_permissions(global_apps.get_app_config(label), apps=apps, verbosity=0)
    group, _ = Group.objects.get_or_create(name=OPS_GROUP)
    views = Permission.objects.filter(
        content_type__app_label__in=VIEW_APPS, codename__startswith="view_"
    )
    group.permissions.add(*views)
    return views.count()


def on_post_migrate(sender: Any, apps: Any = global_apps, **kwargs: Any) -> None:
    if getattr(sender, "label", None) in VIEW_APPS:
        ops_view_grant(apps=apps)
