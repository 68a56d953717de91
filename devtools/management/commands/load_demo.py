"""`manage.py load_demo`: load (or top up) the invented demo catalogue, plans and accounts.

A development tool: the `devtools` app is installed by the local and test settings only,
so this command does not exist under production settings (and, should devtools ever be
installed there, it still refuses without --allow-production)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from devtools import demo, history


class Command(BaseCommand):
    help = (
        "Load a deterministic, invented demo catalogue (publishers, titles, articles, picks), "
        "the subscription plans and the demo accounts. Safe to run repeatedly."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--publishers", type=int, default=demo.DEFAULT_PUBLISHERS)
        parser.add_argument("--publications", type=int, default=demo.DEFAULT_PUBLICATIONS)
        parser.add_argument("--articles", type=int, default=demo.DEFAULT_ARTICLES)
        parser.add_argument("--seed", type=int, default=demo.SEED)
        parser.add_argument(
            "--readers",
            type=int,
            default=history.DEFAULT_READERS,
            help="Readers in the demo's history (0: no history). Loaded once.",
        )
        parser.add_argument(
            "--visitors",
            type=int,
            default=history.DEFAULT_VISITORS,
            help="Anonymous visitors in the demo's history (reads and walls only).",
        )
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="Load the demo under production settings too (its passwords are public).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.IS_PRODUCTION and not options["allow_production"]:
            raise CommandError(
                "Refusing to load demo data and accounts with published passwords under "
                "production settings; pass --allow-production if you really mean it."
            )
        try:
            summary = demo.load_demo(
                publishers=options["publishers"],
                publications=options["publications"],
                articles=options["articles"],
                seed=options["seed"],
            )
            past = history.load_history(
                seed=options["seed"],
                readers=options["readers"],
                visitors=options["visitors"],
                featured=summary.first_publisher,
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc

        self.stdout.write(
            self.style.SUCCESS(
                f"Demo catalogue ready in {summary.seconds:.1f}s: "
                f"{summary.publishers} publishers, {summary.publications} titles, "
                f"{summary.topics} topics, {summary.articles} articles "
                f"({summary.articles_created} new), {summary.picks} picks, {summary.plans} plans."
            )
        )
        if past.loaded:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Demo history of the last {history.HISTORY_DAYS} days written in "
                    f"{past.seconds:.1f}s: {past.readers} readers, {past.reads} reads "
                    f"({past.walls} walls), {past.stripe_events} Stripe events, "
                    f"{past.statements} publisher statements, {past.snapshots} daily snapshots."
                )
            )
        else:
            self.stdout.write("Demo history already present (or --readers 0): nothing added.")
        self.stdout.write(f"Publisher staff account is attached to '{summary.first_publisher}'.")
        self.stdout.write("Demo accounts (email / password):")
        width = max(len(account.email) for account in demo.DEMO_ACCOUNTS)
        for account in demo.DEMO_ACCOUNTS:
            if account in summary.accounts:
                line = f"{account.password:<20}  {account.role}"
            elif demo.has_demo_password(account):
                line = f"{account.password:<20}  {account.role} (existing account)"
            else:
                line = (
                    "(existing account with its own password; "
                    f"`manage.py changepassword {account.email}` sets a new one)"
                )
            self.stdout.write(f"  {account.email:<{width}}  {line}")
