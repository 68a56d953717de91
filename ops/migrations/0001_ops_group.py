"""The `ops` group's permissions, so ops staff can use the Django admin: read every
model of ours; change only what is safe to change there (paywall rules, the job
schedule, replaying webhook events). Nothing may be deleted. Subscription changes go
through the dashboard's audited actions, not the admin."""

from django.db import migrations

VIEW_APPS = ("accounts", "articles", "subscriptions", "django_celery_beat")
EXTRA = {
    "subscriptions": (
        "add_accessrule",
        "change_accessrule",
        "change_stripeevent",
        # The dashboard's actions (subscriptions.StaffAction's permissions).
        "extend_trial",
        "grant_complimentary",
        "cancel_subscription",
        "refund_payment",
        "resync_subscription",
        "replay_webhook",
        "resend_email",
    ),
    "django_celery_beat": ("change_periodictask",),
}


def grant(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    for config in apps.get_app_configs():  # permissions are made after migrations: now
        original = getattr(config, "models_module", None)
        config.models_module = original or True
        create_permissions(config, apps=apps, verbosity=0)
        config.models_module = original
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name="ops")
    views = Permission.objects.filter(
        content_type__app_label__in=VIEW_APPS, codename__startswith="view_"
    )
    extra = [
        Permission.objects.filter(content_type__app_label=app, codename__in=codenames)
        for app, codenames in EXTRA.items()
    ]
    group.permissions.add(*views, *[p for qs in extra for p in qs])


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for group in Group.objects.filter(name="ops"):
        group.permissions.clear()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("accounts", "0003_user_welcome_email_sent_at"),
        ("articles", "0001_initial"),
        ("subscriptions", "0013_history"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
