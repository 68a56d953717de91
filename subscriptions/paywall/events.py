"""Read events: every paywall decision, kept for analytics and the publishers' statements.

`redis` (the default with Redis): each view does one RPUSH (no SQL); the
`flush_read_events` beat task drains the list into the database with bulk inserts. If
Redis cannot take the event, it is written to the database at once.
`direct` (the default without Redis): one insert per view, in the same transaction as the
view's meter row (`recording()`), so a killed process loses no event.
`memory` (tests, or by choice): each process buffers and writes every READ_EVENTS_BATCH
events and at a clean exit; a SIGKILLed process loses what it buffered, at most
READ_EVENTS_BATCH - 1 events (tests/paywall/test_read_events.py).

A new reader's first metered read is flagged (METER_READ): the view wrote no meter row,
and the event writer writes it with the event, in the same transaction, whichever the
sink: drained from Redis, at once when Redis refuses the event or with `direct`, with the
batch with `memory`. Until then the reader's signed cookie carries the read, and the
meter writes it from there first (metering.count_read), so a late drain, or a lost one
(a SIGKILLed `memory` buffer), never gives a free read more.
"""

from __future__ import annotations

import atexit
import json
import logging
import threading
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.dateparse import parse_datetime

from config import redis_command

from ..models import ReadEvent
from . import metering, rollup

REDIS_LIST = "masthead:read_events"
# Set on a new reader's first metered read: the event carries its meter row (the view
# wrote none), written with the event in `_write`; not a column of ReadEvent.
METER_READ = "meter_read"
log = logging.getLogger(__name__)

_buffer: list[dict[str, Any]] = []
_lock = threading.Lock()
_redis_client: Any = None


def _redis() -> Any:
    global _redis_client
    if _redis_client is None:
        import redis

        _redis_client = redis.Redis.from_url(
            str(settings.REDIS_URL), socket_connect_timeout=2, socket_timeout=2
        )
    return _redis_client


def recording() -> AbstractContextManager[Any]:
    """Around a view's meter write and its `record()`: one transaction when the event
    goes to the database directly, so both commit or neither does."""
    return transaction.atomic() if settings.READ_EVENTS_SINK == "direct" else nullcontext()


def record(event: dict[str, Any]) -> None:
    sink = settings.READ_EVENTS_SINK
    if sink == "redis":
        payload = {**event, "at": event["at"].isoformat()}
        try:
            redis_command.command(
                _redis().connection_pool, "RPUSH", REDIS_LIST, json.dumps(payload)
            )
        except Exception:  # Redis is down: the event still reaches the database
            log.warning("read event written directly: Redis refused it", exc_info=True)
            _write([event])
        return
    if sink == "direct":
        _write([event])
        return
    with _lock:
        _buffer.append(event)
        full = len(_buffer) >= settings.READ_EVENTS_BATCH
    if full:
        flush()


def _write(events: list[dict[str, Any]]) -> int:
    """Insert the events and fold them into the simulator's read rollup, in one
    transaction, with the meter rows the flagged events carry (METER_READ). The direct
    sink (one event per view) only records what to fold: the `flush_read_events` job and
    the simulator fold it, keeping the view's queries few."""
    meter_reads = [(e["reader_key"], e["article_id"], e["at"]) for e in events if e.get(METER_READ)]
    rows = [ReadEvent(**{k: v for k, v in e.items() if k != METER_READ}) for e in events]
    with transaction.atomic():
        metering.write_reads(reads=meter_reads)
        ReadEvent.objects.bulk_create(rows, batch_size=1000)
        rollup.mark_dirty(events)
        if settings.READ_EVENTS_SINK != "direct":
            rollup.apply_pending(wait=False)
    return len(events)


def flush(max_events: int = 10_000) -> int:
    """Write what is buffered (this process's memory buffer, or the Redis list)."""
    if settings.READ_EVENTS_SINK == "redis":
        return drain_redis(max_events=max_events)
    with _lock:
        events = _buffer[:]
        _buffer.clear()
    return _write(events) if events else 0


def drain_redis(*, max_events: int = 10_000, chunk: int = 1000) -> int:
    written = 0
    client = _redis()
    while written < max_events:
        raw = client.lpop(REDIS_LIST, chunk)
        if not raw:
            break
        events = []
        for item in raw:
            data = json.loads(item)
            at: datetime | None = parse_datetime(data["at"])
            data["at"] = at
            events.append(data)
        written += _write(events)
    return written


def discard_buffer() -> None:
    """Tests: forget this process's unwritten events."""
    with _lock:
        _buffer.clear()


def _flush_at_exit() -> None:
    try:
        if settings.READ_EVENTS_SINK == "memory" and _buffer:
            flush()
    except Exception:  # the process is going away; nothing sensible to do
        pass


atexit.register(_flush_at_exit)
