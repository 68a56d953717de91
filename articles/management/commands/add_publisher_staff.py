"""`manage.py add_publisher_staff EMAIL --publisher SLUG [--role admin|editor]`: staff rights
over one publisher."""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from articles.models import Publisher, PublisherStaff, StaffRole


class Command(BaseCommand):
    help = (
        "Give an account (created if new) staff rights over one publisher's titles. "
        "Running it again changes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email", help="The account's email address (its login).")
        parser.add_argument("--publisher", required=True, help="The publisher's slug.")
        parser.add_argument(
            "--role",
            choices=StaffRole.values,
            help="admin (rules, staff, statements; the default for a new member) or editor "
            "(overrides, stats). Without it an existing member keeps their role.",
        )
        parser.add_argument(
            "--password",
            help="Password to set. New accounts without one get a random password, printed once.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        email: str = options["email"].strip()
        slug: str = options["publisher"].strip()
        password: str | None = options["password"]
        wanted: str | None = options["role"]
        if not email or "@" not in email:
            raise CommandError(f"'{email}' is not an email address.")

        publisher = Publisher.objects.filter(slug=slug).first()
        if publisher is None:
            known = ", ".join(
                Publisher.objects.order_by("slug").values_list("slug", flat=True)[:10]
            )
            hint = f" Known publishers include: {known}." if known else " There are no publishers."
            raise CommandError(f"Unknown publisher '{slug}'.{hint}")

        user_model = get_user_model()
        with transaction.atomic():
            user = user_model._default_manager.filter(email__iexact=email).first()
            if user is None:
                generated = password is None
                password = password or secrets.token_urlsafe(12)
                user = user_model._default_manager.create_user(email=email, password=password)
                self.stdout.write(f"Created account {user.email}.")
                if generated:
                    self.stdout.write(f"Generated password (shown once): {password}")
            elif password is not None:
                user.set_password(password)
                user.save(update_fields=["password"])
                self.stdout.write(f"Updated the password of {user.email}.")

            staff, created = PublisherStaff.objects.get_or_create(
                user=user, publisher=publisher, defaults={"role": wanted or StaffRole.ADMIN}
            )
            role_changed = wanted is not None and staff.role != wanted
            if wanted is not None and role_changed:
                staff.role = wanted
                staff.save(update_fields=["role"])

        where, role = f"{publisher.name} ({slug})", staff.role
        if created or role_changed:
            self.stdout.write(self.style.SUCCESS(f"{user.email} is now {role} of {where}."))
        else:
            self.stdout.write(f"{user.email} was already {role} of {where}.")
