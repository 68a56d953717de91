from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from subscriptions.services import jobs


class Command(BaseCommand):
    help = "Run one scheduled job now (the same service the worker runs)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", nargs="?", help="The job to run")
        parser.add_argument("--list", action="store_true", help="List the jobs")
        parser.add_argument("--chunk-size", type=int, default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["list"] or not options["name"]:
            for name, job in sorted(jobs.JOBS.items()):
                summary = (job.__doc__ or "").strip().splitlines()[0] if job.__doc__ else ""
                self.stdout.write(f"{name:24} {summary}")
            return
        try:
            result = jobs.run(options["name"], chunk_size=options["chunk_size"])
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(str(result)))
