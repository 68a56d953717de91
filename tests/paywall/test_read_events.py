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


def test_a_lost_memory_buffer_loses_no_meter_read(settings):
    """The memory sink writes a new reader's meter row with its buffered event: a SIGKILL
    loses the row, never the count (the cookie carries the read to the next counted one)."""
    settings.READ_EVENTS_SINK = "memory"
    settings.METER_FREE_ARTICLES = 3
    articles = ArticleFactory.create_batch(4, access_level="metered")
    client = Client()
    client.get(f"/api/v1/articles/{articles[0].slug}/")  # a new reader's first read
    events.discard_buffer()  # what a SIGKILL would lose: its event and its meter row
    assert not MeterEntry.objects.exists()
    granted = [
        client.get(f"/api/v1/articles/{a.slug}/").json()["access"]["granted"] for a in articles[1:]
    ]
    assert granted == [True, True, False]
    assert sorted(MeterEntry.objects.values_list("article_id", flat=True)) == [
        a.pk for a in articles[:3]
    ]
