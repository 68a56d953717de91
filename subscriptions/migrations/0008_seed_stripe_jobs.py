"""Add the Stripe jobs to the beat schedule (see 0005 for the others)."""

import json

from django.db import migrations

CRONTABS = {
    "reconcile_stripe": ("0", "3", "*"),
    "requeue_stripe_events": ("*/5", "*", "*"),
}


def seed(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    for name, (minute, hour, day) in CRONTABS.items():
        crontab, _ = CrontabSchedule.objects.get_or_create(
            minute=minute, hour=hour, day_of_month=day, month_of_year="*", day_of_week="*",
            timezone="UTC",
        )
        PeriodicTask.objects.update_or_create(
            name=f"job: {name}",
            defaults={"task": "jobs.run", "args": json.dumps([name]), "crontab": crontab,
                      "interval": None, "enabled": True},
        )


def unseed(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=[f"job: {n}" for n in CRONTABS]).delete()


class Migration(migrations.Migration):
    dependencies = [("subscriptions", "0007_drift_report")]

    operations = [migrations.RunPython(seed, unseed)]
