"""`manage.py add_publisher_staff EMAIL --publisher SLUG [--role admin|editor]`: staff rights
over one publisher."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from articles.models import Publisher, StaffRole
from articles.services import publisher_staff_add


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

        grant = publisher_staff_add(
            email=email, publisher=publisher, password=password, role=wanted
        )
        if grant.account_created:
            self.stdout.write(f"Created account {grant.email}.")
        if grant.generated_password:
            self.stdout.write(f"Generated password (shown once): {grant.generated_password}")
        if grant.password_changed:
            self.stdout.write(f"Updated the password of {grant.email}.")
        where = f"{publisher.name} ({slug})"
        if grant.staff_created or grant.role_changed:
            self.stdout.write(self.style.SUCCESS(f"{grant.email} is now {grant.role} of {where}."))
        else:
            self.stdout.write(f"{grant.email} was already {grant.role} of {where}.")
