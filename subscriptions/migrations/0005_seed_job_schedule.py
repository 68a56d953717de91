"""Seed the beat schedule (django-celery-beat): ops can edit it in the admin afterwards.
Each entry runs `jobs.run` with the job's name, the same service as `run_job NAME`."""

import json

from django.db import migrations

CRONTABS = {
    # name: (minute, hour, day_of_month)
    "expire_trials": ("*/15", "*", "*"),
    "send_trial_reminders": ("5", "*", "*"),
    "send_renewal_reminders": ("0", "9", "*"),
    "send_dunning_reminders": ("0", "10", "*"),
    "publisher_statements": ("0", "4", "1"),
    "prune_meter": ("30", "5", "*"),
    "send_notifications": ("*/5", "*", "*"),
}
INTERVALS = {"flush_read_events": 10}  # seconds


def seed(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
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
    for name, seconds in INTERVALS.items():
        interval, _ = IntervalSchedule.objects.get_or_create(every=seconds, period="seconds")
        PeriodicTask.objects.update_or_create(
            name=f"job: {name}",
            defaults={"task": "jobs.run", "args": json.dumps([name]), "interval": interval,
                      "crontab": None, "enabled": True},
        )


def unseed(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__startswith="job: ").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("subscriptions", "0004_jobs"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(seed, unseed)]
