"""The webhook event log: store each Stripe event once, process it, replay it.

The stored `StripeEvent` row is the outbox. Intake stores the event (one self-committing
statement) and wakes a drain at most once at a time: `stripe_events_wake` sets a cache key
only if it is unset (Redis SET NX, one round trip) and publishes the drain task only
when it set it. The drain claims pending events oldest first in batches (SKIP LOCKED),
runs their handlers, and when none is left clears the key and looks once more, so that
an event committed before the key is cleared is seen by this drain and one committed
after it arms a new drain. Nothing rests on the key: a lost wake (cache or broker down
at intake, a crash between commit and wake, a killed drain) leaves the event pending,
and the sweep (`stripe_events_requeue`, beat) drains what has waited too long.

Under load the SET NX itself is skipped: a process that has seen the key set (it set
it, or found it set) at a moment t does not ask again until t + the hold
(`STRIPE_EVENTS_WAKE_HOLD_MS`), and a drain that clears the key waits the hold before
its last look. An event committed by an intake that skipped is therefore seen: the key
it saw at t was cleared after t, so that drain's last look comes after t + the hold, and
so after the event's commit. (A key that lapses instead, its drain never having run, or
whose publish failed, leaves the event for the sweep, as without the hold.)
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from ..billing.stripe_client import TemporaryBillingError
from ..models import StripeEvent, StripeEventStatus
from .bulk import insert_unless_exists
from .dispatch import DRAIN_STRIPE_EVENTS, after_commit, send_now
from .stripe_handlers import HANDLERS

logger = logging.getLogger(__name__)
E = StripeEventStatus

# Set while a drain is published and has not yet found the log empty. Its lifetime bounds
# how long a published drain that never runs (its message lost) holds off the next one.
WAKE_KEY = "stripe_events:drain_armed"
WAKE_SECONDS = 60
# When this process last saw the key set (time.monotonic(), taken before asking): see the
# module's docstring.
_seen_armed_at = -math.inf
# How long a drain's claim keeps other drains off an event; a claim that lapses (the
# drain was killed) lets any drain take the event again. Longer than one event's handler.
CLAIM = timedelta(minutes=5)
DRAIN_BATCH = 50
DRAIN_MAX = 5000
DRAIN_SECONDS = 120.0


@dataclass(frozen=True)
class DrainResult:
    """Events run through their handler, and those that failed for a temporary reason
    (Stripe unreachable): the caller retries them with backoff."""

    processed: int = 0
    temporary: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class StoredEvent:
    """A newly stored event: its row's primary key and status (`pending`, or `ignored`
    for a type no handler takes)."""

    pk: int
    status: str


def stripe_event_store(*, event: dict[str, Any], payload: str | None = None) -> StoredEvent | None:
    """Insert a verified event by its Stripe id. None when it was already stored.

    `payload`: the delivery's JSON text that `event` was parsed from, stored as it came
    (not dumped again); without it, `event` is dumped. One statement that commits by
    itself (the unique Stripe id decides, also between concurrent deliveries), without a
    model instance and with the values as the database takes them. A type we do not
    handle is kept, status `ignored`. The caller wakes the drain after commit
    (`stripe_events_wake`).
    """
    status = E.PENDING if event["type"] in HANDLERS else E.IGNORED
    pk = insert_unless_exists(
        model=StripeEvent,
        values={
            "stripe_id": event["id"],
            "type": event["type"],
            "payload": json.dumps(event) if payload is None else payload,
            "created": datetime.fromtimestamp(event["created"], tz=UTC),
            "received_at": timezone.now(),
            "status": status.value,
            "error": "",
            "attempts": 0,
        },
        unique="stripe_id",
    )
    return None if pk is None else StoredEvent(pk=pk, status=status.value)


def stripe_events_wake() -> bool:
    """After a pending event is committed: make sure a drain will run. True when this
    call published one; False when one is armed already (seen by this process within the
    hold: not even asked) or the cache is down (the event waits for the sweep). A failed
    publish disarms again, so the next event retries it."""
    global _seen_armed_at
    asked_at = time.monotonic()
    if asked_at - _seen_armed_at < settings.STRIPE_EVENTS_WAKE_HOLD_MS / 1000:
        return False
    added = cache.add(WAKE_KEY, 1, timeout=WAKE_SECONDS)
    if added is False:  # set by another intake (None: the cache did not answer)
        _seen_armed_at = asked_at
    if not added:
        return False
    try:
        send_now(DRAIN_STRIPE_EVENTS)
    except Exception:
        cache.delete(WAKE_KEY)
        raise
    _seen_armed_at = asked_at
    return True


def _finish(event: StripeEvent, *, ran: bool, **values: Any) -> StripeEvent:
    """Write the outcome; `ran`: the handler ran once more (attempts counts every run,
    in the database, so that two runs of one event always show as two)."""
    values["claimed_until"] = None
    counted = {"attempts": F("attempts") + 1} if ran else {}
    StripeEvent.objects.filter(pk=event.pk).update(**values, **counted)
    for name, value in values.items():
        setattr(event, name, value)
    event.attempts += 1 if ran else 0
    return event


def _run(event: StripeEvent) -> StripeEvent:
    """Run the handler of one loaded event. Processed and ignored events are left alone.

    A failure is kept on the row (status `failed`, the error, attempts) for ops to replay;
    a temporary one is raised again so that the caller retries with backoff.
    """
    if event.status in (E.PROCESSED, E.IGNORED):
        return event
    handler = HANDLERS.get(event.type)
    if handler is None:
        return _finish(event, ran=False, status=E.IGNORED)
    try:
        handler(event)
    except Exception as exc:
        _finish(event, ran=True, status=E.FAILED, error=f"{type(exc).__name__}: {exc}"[:5000])
        if isinstance(exc, TemporaryBillingError):
            raise
        logger.exception("stripe event %s (%s) failed", event.stripe_id, event.type)
        return event
    return _finish(event, ran=True, status=E.PROCESSED, error="", processed_at=timezone.now())


def stripe_event_process(*, event_pk: int) -> StripeEvent:
    """Run the handler of one stored event (a retry, a replay); see `_run`."""
    return _run(StripeEvent.objects.get(pk=event_pk))


def _unclaimed(now: datetime) -> Q:
    return Q(status=E.PENDING) & (Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))


def _claim(*, limit: int) -> list[StripeEvent]:
    """Up to `limit` pending events no live drain holds, oldest first, claimed for this
    drain: rows another drain is claiming right now are skipped, not waited for."""
    now = timezone.now()
    with transaction.atomic():
        events = list(
            StripeEvent.objects.filter(_unclaimed(now))
            .select_for_update(skip_locked=True)
            .order_by("created", "id")[:limit]
        )
        if events:
            StripeEvent.objects.filter(pk__in=[e.pk for e in events]).update(
                claimed_until=now + CLAIM
            )
    return events


def stripe_events_drain(
    *,
    batch_size: int = DRAIN_BATCH,
    max_events: int = DRAIN_MAX,
    max_seconds: float = DRAIN_SECONDS,
) -> DrainResult:
    """Process pending events in `created` order, a batch per claim, until none is left
    (or after `max_events` or `max_seconds`, well within the task's time limit: then a
    fresh drain takes over). Safe to run twice and at once: each event is claimed by one
    drain, and handlers converge whatever the order."""
    processed, temporary = 0, list[int]()
    disarmed = False
    deadline = time.monotonic() + max_seconds
    while processed < max_events and time.monotonic() < deadline:
        batch = _claim(limit=min(batch_size, max_events - processed))
        if not batch:
            if disarmed:
                return DrainResult(processed, temporary)
            cache.delete(WAKE_KEY)  # then look once more (see the module's docstring),
            time.sleep(settings.STRIPE_EVENTS_WAKE_HOLD_MS / 1000)  # after the hold
            disarmed = True
            continue
        disarmed = False
        for event in batch:
            processed += 1
            try:
                _run(event)
            except TemporaryBillingError:
                temporary.append(event.pk)
    cache.delete(WAKE_KEY)
    after_commit(DRAIN_STRIPE_EVENTS, robust=True)  # more may be left: hand on
    return DrainResult(processed, temporary)


def stripe_events_retry(*, event_pks: list[int]) -> DrainResult:
    """Process these events again (they failed for a temporary reason)."""
    temporary = list[int]()
    for event in StripeEvent.objects.filter(pk__in=event_pks).order_by("created", "id"):
        try:
            _run(event)
        except TemporaryBillingError:
            temporary.append(event.pk)
    return DrainResult(len(event_pks), temporary)


def stripe_event_replay(*, event_id: str) -> StripeEvent:
    """Ops: process one stored event again (by Stripe's event id), whatever its status.
    Handlers converge, so replaying a processed event changes nothing that is current."""
    event = StripeEvent.objects.get(stripe_id=event_id)
    StripeEvent.objects.filter(pk=event.pk).update(status=E.PENDING)
    return stripe_event_process(event_pk=event.pk)


def stripe_events_requeue(*, older_than: timedelta = timedelta(minutes=2), limit: int = 500) -> int:
    """The sweep (beat): events still pending, unclaimed, a while after they arrived have
    lost their wake (cache or broker down at intake, a crash between commit and wake, a
    drain killed mid-batch): start a drain after commit. Failed events wait for ops
    (replay). Returns how many were found waiting (at most `limit` counted)."""
    now = timezone.now()
    found = (
        StripeEvent.objects.filter(_unclaimed(now), received_at__lt=now - older_than)
        .order_by()
        .values("pk")[:limit]
        .count()
    )
    if found:
        after_commit(DRAIN_STRIPE_EVENTS, robust=True)
    return found
