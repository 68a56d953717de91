from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from subscriptions.services.attribution import conversions_backfill


class Command(BaseCommand):
    help = (
        "Keep the attribution of trials and subscriptions started before it was stored "
        "(from the audit trail, by the rule the stats used then). Safe to rerun."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args: Any, **options: Any) -> None:
        written = conversions_backfill(batch_size=options["batch_size"])
        self.stdout.write(self.style.SUCCESS(f"{written} conversions kept"))
