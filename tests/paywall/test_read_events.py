"""Where read events go before the database, and what a killed process can lose."""

import pytest
from django.test import Client

from subscriptions.models import MeterEntry, ReadEvent
from subscriptions.paywall import events
from tests.factories import ArticleFactory

pytestmark = pytest.mark.django_db


def test_the_memory_sink_holds_at_most_a_batch_less_one(settings):
    """The bound documented for `memory`: a SIGKILL loses what the buffer holds, and the
    buffer never holds a full batch (it is written when it fills)."""
    settings.READ_EVENTS_SINK = "memory"
    settings.READ_EVENTS_BATCH = 5
    article = ArticleFactory(access_level="free")
    client = Client()
    for views in range(1, 13):
        client.get(f"/a/{article.slug}/")
        assert views - ReadEvent.objects.count() == views % 5 <= 4
    events.discard_buffer()  # what a SIGKILL would lose: two events
    assert ReadEvent.objects.count() == 10


def test_the_direct_sink_writes_the_event_with_the_meter_row(settings):
    settings.READ_EVENTS_SINK = "direct"
    article = ArticleFactory(access_level="metered")
    Client().get(f"/a/{article.slug}/")
    assert ReadEvent.objects.get().reason == "metered"
    assert MeterEntry.objects.get().article_id == article.pk
