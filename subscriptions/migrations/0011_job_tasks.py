"""Beat runs each job's own task (`jobs.<name>`, see subscriptions/tasks.py) instead of
`jobs.run` with the job's name. Entries ops pointed elsewhere are left alone."""

import json

from django.db import migrations

JOBS = [
    "expire_trials",
    "send_trial_reminders",
    "send_renewal_reminders",
    "send_dunning_reminders",
    "publisher_statements",
    "prune_meter",
    "send_notifications",
    "flush_read_events",
    "reconcile_stripe",
    "requeue_stripe_events",
]


def forward(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for name in JOBS:
        PeriodicTask.objects.filter(name=f"job: {name}", task="jobs.run").update(
            task=f"jobs.{name}", args="[]"
        )


def backward(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for name in JOBS:
        PeriodicTask.objects.filter(name=f"job: {name}", task=f"jobs.{name}").update(
            task="jobs.run", args=json.dumps([name])
        )


class Migration(migrations.Migration):
    dependencies = [("subscriptions", "0010_statement_per_currency")]

    operations = [migrations.RunPython(forward, backward)]
