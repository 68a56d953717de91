"""The welcome email's once-only stamp now lives in the outbox (subscriptions 0009)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_user_welcome_email_sent_at"),
        ("subscriptions", "0009_one_outbox"),
    ]

    operations = [
        migrations.RemoveField(model_name="user", name="welcome_email_sent_at"),
    ]
