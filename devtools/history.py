"""A believable, deterministic history for the demo: the last HISTORY_DAYS days of readers.

Readers meet walls, sign up (starting the trial, attributed to the wall's article), read,
convert through Stripe Checkout to the monthly or yearly plan, renew, cancel, fall past due,
switch plans; staff extend a trial and grant complimentary access; the daily jobs expire
trials and send the emails; the monthly job issues the publishers' statements; the metric
snapshots are back-filled. Nothing here writes a row of its own: every change goes through
the product's services with the clock set to the moment it happens (time-machine), as the
tests do:

- sign-up: `accounts.services.signup_complete` (trial, trial claim, welcome email);
- reads and walls: the paywall facade's `article_access()` on a request of that reader
  (the real rule, meter, decision and read event) and `adopt_anonymous_meter()` at sign-up;
- billing: Stripe webhook events, stored and processed by `stripe_event_store()` /
  `stripe_event_process()` as the webhook task does. They are applied as hints (the way
  the product applies them when no Stripe client is configured), because the Stripe
  double is not running while `load_demo` is. It gets them when it starts:
  `stripe_double_setup` copies what these events left in our tables into it
  (`devtools/stripe_mirror.py`), so ops actions on them work under `make run`;
- trials ending, reminders, dunning, emails, statements: the jobs, by `jobs.run()`;
- staff actions: `staff_actions.trial_extend()` / `complimentary_grant()` as the ops user.

Emails go to an in-memory mail box and tasks run in-process while the history is written,
so no old email reaches the console and no task is left queued. Everything happens in one
transaction: a second run finds the first history reader and adds nothing.
"""

from __future__ import annotations

import bisect
import logging
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import time_machine
from allauth.account.models import EmailAddress
from celery import current_app
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.http import HttpRequest
from django.test import RequestFactory
from django.test.utils import override_settings
from django.utils import timezone

from accounts.services import signup_complete
from articles.models import Article, Publication
from devtools.demo import FIRST_NAMES, SURNAMES
from subscriptions import paywall
from subscriptions.models import MetricSnapshot, Plan, Subscription
from subscriptions.services import jobs, snapshots, staff_actions
from subscriptions.services.stripe_events import stripe_event_process, stripe_event_store

HISTORY_DAYS = 120
DEFAULT_READERS = 180
DEFAULT_VISITORS = 200
READER_DOMAIN = "readers.masthead.local"
FRESH_NEWS = timedelta(days=6)
OLDER_NEWS = timedelta(days=30)
SPECIALS = 7  # the last readers play the cases listed in `plan_specials`
JOBS_DAILY = (
    "expire_trials",
    "send_trial_reminders",
    "send_renewal_reminders",
    "send_dunning_reminders",
)
# The outbox's sweep, weekly here (each email's own task sends it when the history commits).
JOBS_WEEKLY = ("send_notifications",)


@dataclass
class HistorySummary:
    loaded: bool  # False: the history was there already and nothing was added
    readers: int = 0
    reads: int = 0
    walls: int = 0
    stripe_events: int = 0
    statements: int = 0
    snapshots: int = 0
    seconds: float = 0.0


@dataclass
class Catalogue:
    """The articles a reader may meet, by publication time (articles are read while fresh)."""

    times: list[datetime]
    articles: list[Article]
    featured_times: list[datetime]  # the featured publisher's titles (thistle-press)
    featured: list[Article]
    walled: set[int]  # resolved premium or registered: a wall for any anonymous reader

    def pick(self, rng: random.Random, at: datetime, *, featured: bool) -> Article | None:
        times, articles = (
            (self.featured_times, self.featured) if featured else (self.times, self.articles)
        )
        end = bisect.bisect_right(times, at)
        # Mostly the last few days' news, sometimes older stories (a small title may not
        # have published this week).
        fresh = FRESH_NEWS if rng.random() < 0.7 else OLDER_NEWS
        start = bisect.bisect_left(times, at - fresh)
        if end == 0:
            return None
        return articles[rng.randrange(start, end) if start < end else end - 1]

    def pick_walled(self, rng: random.Random, at: datetime, *, featured: bool) -> Article | None:
        for _ in range(12):
            article = self.pick(rng, at, featured=featured)
            if article is not None and article.pk in self.walled:
                return article
        return None


@dataclass
class Reader:
    index: int
    email: str
    meter_id: str
    user: Any = None
    stripe_customer: str = ""
    stripe_subscription: str = ""
    invoices: int = 0


@dataclass(order=True)
class Step:
    at: datetime
    seq: int
    run: Callable[[], None] = field(compare=False)


class History:
    def __init__(self, *, seed: int, readers: int, visitors: int, now: datetime, featured: str):
        self.rng = random.Random(seed * 7919 + 17)
        self.seed = seed
        self.now = now
        self.start = (now - timedelta(days=HISTORY_DAYS)).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        self.steps: list[Step] = []
        self.factory = RequestFactory()
        self.plans = {p.code: p for p in Plan.objects.filter(code__in=["monthly", "yearly"])}
        self.catalogue = self._catalogue(featured)
        self.readers = [self._reader(i) for i in range(readers)]
        self.visitors = visitors
        self.summary = HistorySummary(loaded=True, readers=readers)
        self.ops_user_id = (
            get_user_model()
            ._default_manager.filter(email__iexact="ops@masthead.local")
            .values_list("pk", flat=True)
            .first()
        )

    # --- set-up -------------------------------------------------------------------------
    def _catalogue(self, featured: str) -> Catalogue:
        rows = list(
            Article.objects.filter(published_at__lte=self.now)
            .only("id", "slug", "publication_id", "access_level", "published_at")
            .order_by("published_at", "id")
        )
        featured_ids = set(
            Publication.objects.filter(publisher__slug=featured).values_list("id", flat=True)
        )
        walled = {
            a.pk
            for a in rows
            if paywall.resolved_level(a) in (paywall.AccessLevel.PREMIUM, "registered")
        }
        mine = [a for a in rows if a.publication_id in featured_ids]
        return Catalogue(
            times=[a.published_at for a in rows],
            articles=rows,
            featured_times=[a.published_at for a in mine],
            featured=mine,
            walled=walled,
        )

    @staticmethod
    def reader_email(index: int) -> str:
        first = FIRST_NAMES[index % len(FIRST_NAMES)]
        last = SURNAMES[(index // len(FIRST_NAMES)) % len(SURNAMES)]
        return f"{first}.{last}.{index:03d}@{READER_DOMAIN}".lower()

    def _reader(self, index: int) -> Reader:
        return Reader(
            index=index, email=self.reader_email(index), meter_id=f"demo{self.seed}r{index}"
        )

    def add(self, at: datetime, run: Callable[[], None]) -> None:
        if at < self.now:
            self.steps.append(Step(at, len(self.steps), run))

    # --- what one reader does ----------------------------------------------------------
    def request(self, *, user: Any = None, meter_id: str = "") -> HttpRequest:
        request = self.factory.get("/")
        request.user = user if user is not None else AnonymousUser()
        if meter_id and user is None:
            # A cookie like a browser's (signed as the paywall signs it): the meter is real.
            request.COOKIES[settings.METER_COOKIE_NAME] = paywall.meter_cookie_value(meter_id)
        return request

    def read(
        self,
        *,
        at: datetime,
        reader: Reader | None,
        meter_id: str = "",
        walled: bool = False,
        featured: bool | None = None,
    ) -> None:
        rng = self.rng
        feat = rng.random() < 0.3 if featured is None else featured
        if walled:
            article = self.catalogue.pick_walled(rng, at, featured=feat)
        else:
            article = self.catalogue.pick(rng, at, featured=feat)
        if article is None:
            return

        def run() -> None:
            user = reader.user if reader is not None else None
            if reader is not None and user is None:
                request = self.request(meter_id=reader.meter_id)
            else:
                request = self.request(user=user, meter_id=meter_id)
            decision = paywall.article_access(request, article)
            self.summary.reads += 1
            self.summary.walls += not decision.granted

        self.add(at, run)

    def reads(self, reader: Reader, start: datetime, end: datetime, *, per_day: float) -> None:
        """Reading on some days between start and end (a few articles at a sitting)."""
        day = start
        while day < end:
            if self.rng.random() < per_day:
                sitting = day + timedelta(hours=self.rng.uniform(6, 23))
                for n in range(self.rng.choice((1, 1, 2, 3))):
                    self.read(at=sitting + timedelta(minutes=4 * n), reader=reader)
            day += timedelta(days=1)

    def stripe(self, at: datetime, kind: str, obj: dict[str, Any]) -> None:
        number = len(self.steps)
        self.add(at, lambda: self._deliver(f"evt_demo{self.seed}_{number:06d}", kind, obj))

    def _subscription_object(
        self,
        reader: Reader,
        *,
        plan: str,
        status: str,
        period: tuple[datetime, datetime],
        trial_end: datetime | None = None,
        cancel_at_period_end: bool = False,
    ) -> dict[str, Any]:
        return {
            "id": reader.stripe_subscription,
            "object": "subscription",
            "customer": reader.stripe_customer,
            "status": status,
            "cancel_at_period_end": cancel_at_period_end,
            "trial_end": int(trial_end.timestamp()) if trial_end else None,
            "metadata": {"user_id": str(reader.user.pk) if reader.user else ""},
            "items": {
                "data": [
                    {
                        "price": {"id": self.plans[plan].stripe_price_id},
                        "current_period_start": int(period[0].timestamp()),
                        "current_period_end": int(period[1].timestamp()),
                    }
                ]
            },
        }

    def _invoice(
        self, reader: Reader, *, plan: str, period: tuple[datetime, datetime], paid: bool
    ) -> dict[str, Any]:
        reader.invoices += 1
        amount = self.plans[plan].amount
        return {
            "id": f"in_demo{self.seed}_{reader.index:03d}_{reader.invoices:02d}",
            "object": "invoice",
            "customer": reader.stripe_customer,
            "currency": self.plans[plan].currency,
            "amount_due": amount,
            "amount_paid": amount if paid else 0,
            "attempt_count": 1,
            "status_transitions": {"paid_at": int(period[0].timestamp()) if paid else None},
            "parent": {"subscription_details": {"subscription": reader.stripe_subscription}},
            "lines": {
                "data": [
                    {
                        "period": {
                            "start": int(period[0].timestamp()),
                            "end": int(period[1].timestamp()),
                        },
                        "pricing": {"price_details": {"price": self.plans[plan].stripe_price_id}},
                    }
                ]
            },
        }

    def subscribe(self, reader: Reader, *, at: datetime) -> None:
        """Checkout during the trial: Stripe's subscription trials until ours ends."""
        reader.stripe_customer = f"cus_demo{self.seed}_{reader.index:03d}"
        reader.stripe_subscription = f"sub_demo{self.seed}_{reader.index:03d}"

        def completed() -> dict[str, Any]:
            return {
                "id": f"cs_demo{self.seed}_{reader.index:03d}",
                "object": "checkout.session",
                "mode": "subscription",
                "client_reference_id": str(reader.user.pk),
                "customer": reader.stripe_customer,
                "subscription": reader.stripe_subscription,
            }

        self.add(at, lambda: self._stripe_now("checkout.session.completed", completed()))

    def _stripe_now(self, kind: str, obj: dict[str, Any]) -> None:
        """A Stripe event built when it happens (it names the reader's new account)."""
        self._deliver(f"evt_demo{self.seed}_{kind}_{obj['id']}", kind, obj)

    def _deliver(self, event_id: str, kind: str, obj: dict[str, Any]) -> None:
        """Store and process one Stripe event, dated now (the clock is at its moment)."""
        event = {
            "id": event_id,
            "object": "event",
            "type": kind,
            "created": int(timezone.now().timestamp()),
            "livemode": False,
            "data": {"object": obj},
        }
        stored = stripe_event_store(event=event)
        if stored is not None:
            stripe_event_process(event_pk=stored.pk)
            self.summary.stripe_events += 1

    # --- the plan of the whole period -----------------------------------------------------
    def plan_reader(self, reader: Reader, signup: datetime, trial: timedelta) -> None:
        rng = self.rng
        featured = rng.random() < 0.35
        # Anonymous reading before signing up, ending (mostly) at a wall.
        for _ in range(rng.randint(1, 6)):
            self.read(
                at=signup - timedelta(days=rng.uniform(0.2, 9)), reader=reader, featured=featured
            )
        wall_article: Article | None = None
        if rng.random() < 0.75:
            wall_at = signup - timedelta(minutes=rng.uniform(2, 40))
            wall_article = self.catalogue.pick_walled(rng, wall_at, featured=featured)
            if wall_article is not None:
                article = wall_article

                def meet_wall(article: Article = article) -> None:
                    request = self.request(meter_id=reader.meter_id)
                    decision = paywall.article_access(request, article)
                    self.summary.reads += 1
                    self.summary.walls += not decision.granted

                self.add(wall_at, meet_wall)

        def sign_up(article: Article | None = wall_article) -> None:
            user = get_user_model()._default_manager.create_user(email=reader.email)
            EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=True)
            paywall.adopt_anonymous_meter(
                request=self.request(meter_id=reader.meter_id), user_id=user.pk
            )
            signup_complete(user=user, from_article_slug=article.slug if article else None)
            reader.user = user

        self.add(signup, sign_up)
        trial_end = signup + trial
        outcome = rng.random()
        if outcome < 0.36:  # converts
            self.reads(reader, signup, trial_end, per_day=0.5)
            plan = "yearly" if rng.random() < 0.3 else "monthly"
            self.convert(reader, signup, trial_end, plan)
        elif outcome < 0.46:  # cancels the trial from the account page
            ends = signup + timedelta(days=rng.uniform(1, 10))
            self.reads(reader, signup, ends, per_day=0.4)
            self.add(ends, lambda: self._trial_cancel(reader))
            self.reads(reader, ends, ends + timedelta(days=20), per_day=0.15)
        else:  # the trial runs out (the expiry job ends it)
            self.reads(reader, signup, trial_end, per_day=0.45)
            self.reads(reader, trial_end, trial_end + timedelta(days=25), per_day=0.2)
            if rng.random() < 0.2:  # later, a wall wins them back: straight to a paid plan
                wall_at = trial_end + timedelta(days=rng.uniform(8, 30), hours=rng.uniform(0, 9))
                self.read(at=wall_at, reader=reader, walled=True, featured=featured)
                self.win_back(reader, wall_at + timedelta(minutes=rng.uniform(3, 30)))

    def _trial_cancel(self, reader: Reader) -> None:
        from subscriptions.services.trials import trial_cancel

        trial_cancel(user=reader.user)

    def convert(self, reader: Reader, signup: datetime, trial_end: datetime, plan: str) -> None:
        rng = self.rng
        checkout = signup + timedelta(days=rng.uniform(2, 12.5))
        self.subscribe(reader, at=checkout)
        self.stripe(
            checkout + timedelta(seconds=5),
            "customer.subscription.created",
            self._subscription_object(
                reader,
                plan=plan,
                status="trialing",
                period=(checkout, trial_end),
                trial_end=trial_end,
            ),
        )
        months = 12 if plan == "yearly" else 1
        start, churned = trial_end, False
        while start < self.now and not churned:
            end = _add_months(start, months)
            period = (start, end)
            self.stripe(
                start,
                "customer.subscription.updated",
                self._subscription_object(
                    reader, plan=plan, status="active", period=period, trial_end=trial_end
                ),
            )
            self.stripe(
                start + timedelta(seconds=30),
                "invoice.paid",
                self._invoice(reader, plan=plan, period=period, paid=True),
            )
            reading_until = min(end, self.now)
            self.reads(reader, start, reading_until, per_day=0.3)
            if plan == "monthly" and rng.random() < 0.14:  # cancels, keeps access to the end
                told = start + timedelta(days=rng.uniform(3, 25))
                self.stripe(
                    told,
                    "customer.subscription.updated",
                    self._subscription_object(
                        reader,
                        plan=plan,
                        status="active",
                        period=period,
                        trial_end=trial_end,
                        cancel_at_period_end=True,
                    ),
                )
                self.stripe(
                    end,
                    "customer.subscription.deleted",
                    self._subscription_object(
                        reader,
                        plan=plan,
                        status="canceled",
                        period=period,
                        trial_end=trial_end,
                        cancel_at_period_end=True,
                    ),
                )
                self.reads(reader, end, end + timedelta(days=20), per_day=0.15)
                churned = True
            start = end

    def win_back(self, reader: Reader, at: datetime) -> None:
        """A lapsed reader subscribes to the monthly plan (no second trial)."""
        self.subscribe(reader, at=at)
        start = at + timedelta(seconds=5)
        while start < self.now:
            end = _add_months(start, 1)
            period = (start, end)
            self.stripe(
                start,
                "customer.subscription.updated",
                self._subscription_object(reader, plan="monthly", status="active", period=period),
            )
            self.stripe(
                start + timedelta(seconds=30),
                "invoice.paid",
                self._invoice(reader, plan="monthly", period=period, paid=True),
            )
            self.reads(reader, start, min(end, self.now), per_day=0.3)
            start = end

    def plan_visitor(self, n: int) -> None:
        """Anonymous readers who never sign up: a few reads, the meter, some walls."""
        rng = self.rng
        meter_id = f"demo{self.seed}v{n}"
        first = self.start + timedelta(days=rng.uniform(0, HISTORY_DAYS))
        featured = rng.random() < 0.35
        for _ in range(rng.choice((1, 2, 3, 4, 6, 8))):
            at = first + timedelta(days=rng.uniform(0, 12), hours=rng.uniform(0, 12))
            self.read(at=at, reader=None, meter_id=meter_id, featured=featured)

    def plan_specials(self) -> None:
        """The cases a newcomer should find on the dashboard: a plan switch each way, a
        payment failed and recovered, a subscriber who leaves after two months, one failed
        and in its grace period now, a trial
        extended and complimentary access granted by staff, a webhook that failed."""
        now = self.now
        if len(self.readers) < 2 * SPECIALS:
            return
        upgrade, downgrade, recovered, grace, comped, extended, leaver = self.readers[-SPECIALS:]
        # monthly -> yearly, and yearly -> monthly (each signed up ~100 and ~90 days ago).
        self._special_subscriber(upgrade, now - timedelta(days=100), "monthly", switch="yearly")
        self._special_subscriber(downgrade, now - timedelta(days=90), "yearly", switch="monthly")
        self._special_subscriber(recovered, now - timedelta(days=75), "monthly", recover=True)
        # Paid two months, then canceled from the Customer Portal: churned at period end.
        self._special_subscriber(leaver, now - timedelta(days=100), "monthly", churn_after=2)
        # Trial ended ~35.5 days ago, so the renewal ~5.5 days ago failed: in grace now.
        self._special_subscriber(
            grace, now - timedelta(days=settings.TRIAL_DAYS + 35.5), "monthly", fail_last=True
        )
        # A lapsed reader (trial ran out) given complimentary access by staff.
        comp_signup = now - timedelta(days=40)
        self._signup_only(comped, comp_signup)
        self.add(comp_signup + timedelta(days=30), lambda: self._comp(comped))
        self.reads(comped, comp_signup, now, per_day=0.4)
        # A recent trial that staff extended by a week.
        ext_signup = now - timedelta(days=10)
        self._signup_only(extended, ext_signup)
        self.add(ext_signup + timedelta(days=8), lambda: self._extend(extended))
        self.reads(extended, ext_signup, now, per_day=0.5)
        # A webhook for a customer we never heard of (a subscription made in Stripe's
        # dashboard by hand): it fails and waits in the event log for ops to replay.
        self.stripe(
            now - timedelta(days=2, hours=3),
            "customer.subscription.updated",
            {
                "id": f"sub_demo{self.seed}_unknown",
                "object": "subscription",
                "customer": f"cus_demo{self.seed}_unknown",
                "status": "active",
                "metadata": {},
                "items": {"data": []},
            },
        )

    def _signup_only(self, reader: Reader, signup: datetime) -> None:
        def sign_up() -> None:
            user = get_user_model()._default_manager.create_user(email=reader.email)
            EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=True)
            signup_complete(user=user)
            reader.user = user

        self.add(signup, sign_up)

    def _special_subscriber(
        self,
        reader: Reader,
        signup: datetime,
        plan: str,
        *,
        switch: str = "",
        recover: bool = False,
        fail_last: bool = False,
        churn_after: int = 0,
    ) -> None:
        trial_end = signup + timedelta(days=settings.TRIAL_DAYS)
        self._signup_only(reader, signup)
        self.subscribe(reader, at=signup + timedelta(days=5))
        self.stripe(
            signup + timedelta(days=5, seconds=5),
            "customer.subscription.created",
            self._subscription_object(
                reader,
                plan=plan,
                status="trialing",
                period=(signup, trial_end),
                trial_end=trial_end,
            ),
        )
        self.reads(reader, signup, self.now, per_day=0.4)
        start, current, n = trial_end, plan, 0
        while start < self.now:
            end = _add_months(start, 12 if current == "yearly" else 1)
            period = (start, end)
            last = end >= self.now
            if fail_last and last:
                self.stripe(
                    start,
                    "invoice.payment_failed",
                    self._invoice(reader, plan=current, period=period, paid=False),
                )
                break
            self.stripe(
                start,
                "customer.subscription.updated",
                self._subscription_object(
                    reader, plan=current, status="active", period=period, trial_end=trial_end
                ),
            )
            if recover and n == 1:
                self.stripe(
                    start,
                    "invoice.payment_failed",
                    self._invoice(reader, plan=current, period=period, paid=False),
                )
                paid_at = start + timedelta(days=2)
                self.stripe(
                    paid_at,
                    "invoice.paid",
                    self._invoice(reader, plan=current, period=(paid_at, end), paid=True),
                )
            else:
                self.stripe(
                    start + timedelta(seconds=30),
                    "invoice.paid",
                    self._invoice(reader, plan=current, period=period, paid=True),
                )
            n += 1
            if churn_after and n == churn_after:
                told = start + timedelta(days=9)
                for kind, status, at in (
                    ("customer.subscription.updated", "active", told),
                    ("customer.subscription.deleted", "canceled", end),
                ):
                    self.stripe(
                        at,
                        kind,
                        self._subscription_object(
                            reader, plan=current, status=status, period=period,
                            trial_end=trial_end, cancel_at_period_end=True,
                        ),
                    )  # fmt: skip
                break
            if switch and n == 1 and current != switch:
                # The reader switches plan from the Customer Portal: a new period at once.
                at = start + timedelta(days=20)
                current = switch
                end = _add_months(at, 12 if current == "yearly" else 1)
                self.stripe(
                    at,
                    "customer.subscription.updated",
                    self._subscription_object(
                        reader, plan=current, status="active", period=(at, end), trial_end=trial_end
                    ),
                )
                self.stripe(
                    at + timedelta(seconds=30),
                    "invoice.paid",
                    self._invoice(reader, plan=current, period=(at, end), paid=True),
                )
            start = end

    def _comp(self, reader: Reader) -> None:
        if self.ops_user_id is None:
            return
        sub = Subscription.objects.get(user=reader.user)
        staff_actions.complimentary_grant(
            subscription_id=sub.pk,
            until=(timezone.now() + timedelta(days=90)).date(),
            reason="Local journalist reviewing the service (demo).",
            actor_id=self.ops_user_id,
            key=f"demo{self.seed}-comp-{reader.index}",
        )

    def _extend(self, reader: Reader) -> None:
        if self.ops_user_id is None:
            return
        sub = Subscription.objects.get(user=reader.user)
        staff_actions.trial_extend(
            subscription_id=sub.pk,
            days=7,
            reason="Reader was travelling for most of the trial (demo).",
            actor_id=self.ops_user_id,
            key=f"demo{self.seed}-extend-{reader.index}",
        )

    def plan_jobs(self) -> None:
        """The beat's daily and monthly jobs, at their hours."""
        day = self.start
        while day < self.now:
            for n, name in enumerate(JOBS_DAILY):
                self.add(day + timedelta(hours=2, minutes=n), _job(name))
            if day.weekday() == 0:
                for n, name in enumerate(JOBS_WEEKLY):
                    self.add(day + timedelta(hours=4, minutes=n), _job(name))
            if day.day == 1 and day > self.start:
                self.add(day + timedelta(hours=3), _job("publisher_statements"))
            day += timedelta(days=1)

    # --- running it --------------------------------------------------------------------
    def run(self) -> None:
        specials = SPECIALS if len(self.readers) >= 2 * SPECIALS else 0
        regular = self.readers[: len(self.readers) - specials]
        trial = timedelta(days=settings.TRIAL_DAYS)
        rng = self.rng
        for reader in regular:
            offset = HISTORY_DAYS * rng.random() ** 0.75
            signup = self.start + timedelta(days=offset, hours=rng.uniform(7, 22))
            if signup >= self.now - timedelta(hours=1):
                signup = self.now - timedelta(hours=rng.uniform(2, 30))
            self.plan_reader(reader, signup, trial)
        for n in range(self.visitors):
            self.plan_visitor(n)
        self.plan_specials()
        self.plan_jobs()
        self.steps.sort()
        with time_machine.travel(self.start, tick=False) as clock:
            for step in self.steps:
                clock.move_to(step.at)
                step.run()
            # Whatever is still owed goes out now (emails' own tasks wait for the commit).
            _run_job("send_notifications")


def _job(name: str) -> Callable[[], None]:
    return lambda: _run_job(name)


def _run_job(name: str) -> None:
    jobs.run(name)


def _add_months(at: datetime, months: int) -> datetime:
    month = at.month - 1 + months
    year = at.year + month // 12
    month = month % 12 + 1
    day = min(at.day, 28)
    return at.replace(year=year, month=month, day=day)


@contextmanager
def _quiet_side_effects() -> Iterator[None]:
    """While the past is written: emails to memory, tasks in-process, the paywall's read
    events straight to the database, billing treated as not configured (the events are
    applied as hints: the Stripe double is given them when it starts), and a
    private cache (entries stamped with past times would confuse a shared one)."""
    # Quiet: a line per in-process task, and the traceback of the webhook meant to fail.
    quiet = {"celery.app.trace": logging.WARNING, "subscriptions.services.stripe_events": 100}
    levels = {name: logging.getLogger(name).level for name in quiet}
    for name, level in quiet.items():
        logging.getLogger(name).setLevel(level)
    conf = current_app.conf
    eager, propagates = conf.task_always_eager, conf.task_eager_propagates
    conf.task_always_eager, conf.task_eager_propagates = True, True
    try:
        with override_settings(
            EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
            READ_EVENTS_SINK="direct",
            STRIPE_SECRET_KEY=None,
            STRIPE_API_BASE=None,
            CACHES={
                "default": {
                    "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                    "LOCATION": "masthead-demo-history",
                }
            },
        ):
            yield
    finally:
        conf.task_always_eager, conf.task_eager_propagates = eager, propagates
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


def history_exists() -> bool:
    return get_user_model()._default_manager.filter(email__endswith=f"@{READER_DOMAIN}").exists()


def load_history(
    *,
    seed: int,
    readers: int = DEFAULT_READERS,
    visitors: int = DEFAULT_VISITORS,
    featured: str,
    now: datetime | None = None,
) -> HistorySummary:
    """Write the demo's past once (nothing when a history reader exists already)."""
    started = time.perf_counter()
    if readers < 0 or visitors < 0:
        raise ValueError("--readers and --visitors must not be negative.")
    if history_exists() or readers == 0:
        return HistorySummary(loaded=False)
    now = now or timezone.now()
    with _quiet_side_effects(), transaction.atomic():
        history = History(seed=seed, readers=readers, visitors=visitors, now=now, featured=featured)
        history.run()
    # The daily figures, back-filled from the first day (a rerun of the job redoes none).
    first_day: date = history.start.date()
    if MetricSnapshot.objects.filter(day__gte=first_day).exists():
        # Days snapshotted before this history existed: redo them from its first day.
        with transaction.atomic():
            written = snapshots.snapshots_catch_up(since=first_day)
    else:  # the job itself back-fills every missing day (and shows under job health)
        written = jobs.run("snapshot_metrics").processed
    summary = history.summary
    summary.snapshots = written
    summary.statements = _statements_count(first_day)
    summary.seconds = time.perf_counter() - started
    return summary


def _statements_count(since: date) -> int:
    from subscriptions.models import PublisherStatement

    return PublisherStatement.objects.filter(month__gte=since.replace(day=1)).count()
