"""Keep the attribution of the trials and subscriptions started before it was stored,
by the rule the stats computed it with (`manage.py backfill_conversions` does the same,
and is safe to rerun)."""

from django.db import migrations


def backfill(apps, schema_editor):
    from subscriptions.services.attribution import conversions_backfill

    conversions_backfill(registry=apps)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_trial_claim_verified_at"),
        ("articles", "0002_staff_role"),
        ("subscriptions", "0014_conversion_attribution"),
    ]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
