"""One email outbox and one audit vocabulary.

Billing notices and the welcome-email stamp become sent `Notification` rows (so nothing
is sent twice after the move), and old audit actions take the dotted names."""

from django.db import migrations, models
from django.db.models import Q

BILLING_KINDS = ("payment_failed", "payment_action_required", "trial_will_end")
WELCOME_PERIOD = "account"

# Old action (exact, or prefix ending in ":") -> the dotted name.
ACTIONS = [
    ("trial:start", "trial.started"),
    ("trial:cancel", "trial.canceled"),
    ("trial_canceled", "trial.canceled"),
    ("trial_expired", "trial.expired"),
    ("trial_refused_card_reused", "trial.refused_card_reused"),
    ("past_due_dated", "stripe.past_due_dated"),
    ("stripe:linked", "stripe.linked"),
    ("stripe:invoice:", "stripe.invoice_applied"),
    ("stripe:", "stripe.subscription_synced"),
    ("status:", "subscription.status_changed"),
]


def forwards(apps, schema_editor):
    Notification = apps.get_model("subscriptions", "Notification")
    BillingNotice = apps.get_model("subscriptions", "BillingNotice")
    User = apps.get_model("accounts", "User")
    AuditEntry = apps.get_model("subscriptions", "AuditEntry")
    rows = [
        Notification(
            user_id=notice.user_id,
            kind=notice.kind,
            period=notice.key,
            status="sent",
            created_at=notice.sent_at,
            sent_at=notice.sent_at,
        )
        for notice in BillingNotice.objects.iterator()
    ]
    rows += [
        Notification(
            user_id=user_id,
            kind="welcome",
            period=WELCOME_PERIOD,
            status="sent",
            created_at=sent_at,
            sent_at=sent_at,
        )
        for user_id, sent_at in User.objects.filter(welcome_email_sent_at__isnull=False)
        .values_list("pk", "welcome_email_sent_at")
        .iterator()
    ]
    Notification.objects.bulk_create(rows, batch_size=500, ignore_conflicts=True)
    for old, new in ACTIONS:
        match = Q(action__startswith=old) if old.endswith(":") else Q(action=old)
        AuditEntry.objects.filter(match).update(action=new)


def backwards(apps, schema_editor):
    Notification = apps.get_model("subscriptions", "Notification")
    BillingNotice = apps.get_model("subscriptions", "BillingNotice")
    User = apps.get_model("accounts", "User")
    sent = Notification.objects.filter(status="sent")
    BillingNotice.objects.bulk_create(
        [
            BillingNotice(user_id=n.user_id, kind=n.kind, key=n.period)
            for n in sent.filter(kind__in=BILLING_KINDS).iterator()
        ],
        ignore_conflicts=True,
    )
    for user_id, sent_at in sent.filter(kind="welcome").values_list("user_id", "sent_at"):
        User.objects.filter(pk=user_id).update(welcome_email_sent_at=sent_at)
    Notification.objects.filter(kind__in=(*BILLING_KINDS, "welcome")).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_user_welcome_email_sent_at"),
        ("subscriptions", "0008_seed_stripe_jobs"),
    ]

    operations = [
        migrations.AlterField(
            model_name="notification",
            name="kind",
            field=models.CharField(
                choices=[
                    ("welcome", "Welcome"),
                    ("trial_ending", "Your free trial ends soon"),
                    ("trial_expired", "Your free trial has ended"),
                    ("renewal_notice", "Your yearly subscription renews soon"),
                    ("dunning", "We couldn't take your payment"),
                    ("payment_failed", "Your payment did not go through"),
                    ("payment_action_required", "Please confirm your payment"),
                    ("trial_will_end", "Your free trial ends soon"),
                ],
                max_length=40,
            ),
        ),
        migrations.AlterField(
            model_name="notification",
            name="period",
            field=models.CharField(
                help_text="What the email is about (a date, an invoice, 'account'): the dedupe key",
                max_length=200,
            ),
        ),
        migrations.RunPython(forwards, backwards),
        migrations.DeleteModel(name="BillingNotice"),
    ]
