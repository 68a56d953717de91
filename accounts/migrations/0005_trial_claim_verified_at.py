from django.db import migrations, models


def mark_existing_claims(apps, schema_editor):
    """Claims made before verification mattered: those of accounts with a verified address
    of the same identity are verified; a deleted account's claim stays binding (it was
    made under the old rule and we cannot tell any more)."""
    from accounts.identity import identity_hash

    TrialClaim = apps.get_model("accounts", "TrialClaim")
    EmailAddress = apps.get_model("account", "EmailAddress")
    TrialClaim.objects.filter(user__isnull=True).update(verified_at=models.F("claimed_at"))
    verified = EmailAddress.objects.filter(verified=True).values_list("user_id", "email")
    hashes = {(user_id, identity_hash(email)) for user_id, email in verified}
    for claim in TrialClaim.objects.filter(user__isnull=False).only("pk", "user_id", "identity_hash"):
        if (claim.user_id, claim.identity_hash) in hashes:
            TrialClaim.objects.filter(pk=claim.pk).update(verified_at=models.F("claimed_at"))


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_remove_user_welcome_email_sent_at"),
        ("account", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="trialclaim",
            name="verified_at",
            field=models.DateTimeField(
                blank=True,
                help_text="When the claiming account verified the address: from then on the "
                "claim binds for good.",
                null=True,
            ),
        ),
        migrations.RunPython(mark_existing_claims, migrations.RunPython.noop),
    ]
