"""A title's stats page: the shared SVG chart of reads and walls per day, and the same
numbers in the table beside it."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from django.test import Client

from subscriptions.models import ReadEvent

pytestmark = pytest.mark.django_db


def reads(side, day: int, *, granted: int, walled: int) -> None:
    ReadEvent.objects.bulk_create(
        ReadEvent(
            at=datetime(2026, 11, day, 9, i, tzinfo=UTC),
            reader_key=f"a:{i}",
            article=side.articles[0],
            publication=side.title,
            granted=i < granted,
            reason="metered" if i < granted else "wall",
            level="metered",
        )
        for i in range(granted + walled)
    )


def stats_page(side, **period: str) -> str:
    client = Client()
    client.force_login(side.admin)
    url = f"/publisher/{side.publisher.slug}/titles/{side.title.slug}/stats/"
    response = client.get(url, period)
    assert response.status_code == 200
    return response.content.decode()


def test_the_chart_draws_the_days_of_the_table_beside_it(side_a):
    reads(side_a, 2, granted=3, walled=1)
    reads(side_a, 4, granted=12, walled=5)
    html = stats_page(side_a, start="2026-11-01", end="2026-11-05")
    svg = html[html.index('<svg xmlns="http://www.w3.org/2000/svg" class="chart"') :]
    svg = svg[: svg.index("</svg>")]
    assert "<desc>From 1 Nov 2026 to 5 Nov 2026; highest day 12." in svg
    drawn = re.findall(r"<title>(Reads|Walls), (\d+ Nov): (\d+)</title>", svg)
    assert len(drawn) == 10  # two series, five days
    rows = dict(
        (day, (reads_, walls))
        for day, reads_, walls in re.findall(
            r'<th scope="row">\w+ (\d+ Nov)</th><td class="num">(\d+)</td>'
            r'<td class="num">(\d+)</td>',
            html,
        )
    )
    assert rows["2 Nov"] == ("3", "1") and rows["4 Nov"] == ("12", "5")
    for series, day, number in drawn:
        assert rows[day][0 if series == "Reads" else 1] == number


def test_a_title_without_reads_draws_a_flat_chart_not_an_error(side_a):
    html = stats_page(side_a, start="2026-11-01", end="2026-11-02")
    assert "<title>Reads, 1 Nov: 0</title>" in html
    assert "nan" not in html.split('class="chart"', 1)[1].split("</svg>", 1)[0]
