from celery import shared_task

from . import events


@shared_task(name="paywall.flush_read_events", ignore_result=True)
def flush_read_events() -> int:
    """Drain buffered read events into the database (scheduled every few seconds)."""
    return events.flush()
