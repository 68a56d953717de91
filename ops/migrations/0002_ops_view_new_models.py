"""The `ops` group reads every model of ours in the admin, including those made after
0001 (the publishers' rule versions, drafts and invitations; the kept conversions):
view permission only, for every model of these apps (adding what it has is a no-op)."""

from django.db import migrations

VIEW_APPS = ("accounts", "articles", "subscriptions", "publishers", "django_celery_beat")


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
    group.permissions.add(
        *Permission.objects.filter(
            content_type__app_label__in=VIEW_APPS, codename__startswith="view_"
        )
    )


class Migration(migrations.Migration):
    dependencies = [
        ("ops", "0001_ops_group"),
        ("publishers", "0001_initial"),
        ("subscriptions", "0016_notification_to_an_address"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
