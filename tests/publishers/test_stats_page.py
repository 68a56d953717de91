"""The all-titles stats page: the period it shows is the period in its inputs, a daily
chart of all titles with its numbers beside it, the wide table in a labelled scrolling
box, money formatted (exact integers in the CSV)."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from subscriptions.models import PublisherStatement, ReadEvent
from subscriptions.vocabulary import ENTITLED_REASONS
from tests.factories import ArticleFactory, PublicationFactory
from tests.publishers.test_stats_chart import reads

pytestmark = pytest.mark.django_db


def get(side, **params: str):
    client = Client()
    client.force_login(side.admin)
    return client.get(f"/publisher/{side.publisher.slug}/stats/", params)


def test_the_inputs_show_the_period_the_heading_names(side_a):
    html = get(side_a).content.decode()
    today = timezone.now().date()
    first = today - timedelta(days=29)
    assert f'name="start" value="{first:%Y-%m-%d}"' in html
    assert f'name="end" value="{today:%Y-%m-%d}"' in html
    assert f"Stats, {first.day} {first:%b %Y} to {today.day} {today:%b %Y}" in html
    # Only an end given: the start shown is the one used.
    html = get(side_a, end="2026-11-30").content.decode()
    assert 'name="start" value="2026-11-01"' in html and 'name="end" value="2026-11-30"' in html


def test_a_bad_period_keeps_what_was_typed_and_says_why(side_a):
    response = get(side_a, start="2026-11-30", end="2026-11-01")
    assert response.status_code == 400
    html = response.content.decode()
    assert "The start must not be after the end." in html
    assert 'name="start" value="2026-11-30"' in html


@pytest.mark.parametrize(
    ("params", "message"),
    [
        # A start alone reaching back years: the 366-day bound held only with both given,
        # and the page counted from year 1.
        ({"start": "2000-01-01"}, "The period is at most 366 days."),
        ({"start": "0001-01-01"}, "The period is at most 366 days."),
        # A start alone after today (the default end): it was moved to the end silently.
        ({"start": "2999-01-01"}, "The start must not be after the end."),
    ],
)
@pytest.mark.parametrize("page", ["stats/", "titles/alpha-times/stats/"])
def test_the_period_rules_hold_whatever_is_given(side_a, params, message, page):
    client = Client()
    client.force_login(side_a.admin)
    response = client.get(f"/publisher/{side_a.publisher.slug}/{page}", params)
    assert response.status_code == 400
    assert message in response.content.decode()


def test_the_daily_chart_adds_up_all_titles_with_the_numbers_beside_it(side_a):
    other = PublicationFactory(publisher=side_a.publisher, name="Alpha Weekly", slug="a-weekly")
    second = type(side_a)(
        side_a.publisher,
        other,
        [ArticleFactory(publication=other, slug="weekly-1")],
        side_a.admin,
        side_a.editor,
    )
    reads(side_a, 2, granted=3, walled=1)
    reads(second, 2, granted=4, walled=2)
    reads(second, 3, granted=1, walled=0)
    html = get(side_a, start="2026-11-01", end="2026-11-03").content.decode()
    svg = html[html.index('<svg xmlns="http://www.w3.org/2000/svg" class="chart"') :]
    svg = svg[: svg.index("</svg>")]
    drawn = re.findall(r"<title>(Reads|Walls), (\d+ Nov): (\d+)</title>", svg)
    assert ("Reads", "2 Nov", "7") in drawn and ("Walls", "2 Nov", "3") in drawn
    rows = dict(
        (day, (r, w))
        for day, r, w in re.findall(
            r'<th scope="row">\w+ (\d+ Nov)</th><td class="num">(\d+)</td>'
            r'<td class="num">(\d+)</td>',
            html,
        )
    )
    assert rows == {"1 Nov": ("0", "0"), "2 Nov": ("7", "3"), "3 Nov": ("1", "0")}
    for series, day, number in drawn:
        assert rows[day][0 if series == "Reads" else 1] == number


def test_the_wide_table_scrolls_in_a_labelled_box_and_explains_attribution(side_a):
    html = get(side_a).content.decode()
    assert (
        '<div class="table-wrap sticky-first" role="region" '
        'aria-label="Per title figures (scrolls sideways)" tabindex="0">'
    ) in html
    assert "counts for a title only when the reader met that title's wall within the 24 hours" in (
        html
    )


def test_revenue_share_is_money_on_the_page_and_minor_units_in_the_csv(side_a):
    ReadEvent.objects.create(
        at=timezone.now().replace(year=2026, month=10, day=5),
        reader_key="u:1",
        article=side_a.articles[0],
        publication=side_a.title,
        granted=True,
        reason=sorted(ENTITLED_REASONS)[0],
        level="metered",
    )
    PublisherStatement.objects.create(
        publisher=side_a.publisher,
        month=date(2026, 10, 1),
        qualified_reads=1,
        total_qualified_reads=1,
        pool=100000,
        amount=47727,
        created_at=timezone.now(),
    )
    html = get(side_a, start="2026-10-01", end="2026-10-31").content.decode()
    assert '<td class="num">477.27 GBP</td>' in html
    assert "minor units" not in html
    csv = get(side_a, start="2026-10-01", end="2026-10-31", format="csv").content.decode()
    header, row = csv.splitlines()
    assert header.endswith(",revenue_share_minor_units,currency")
    assert row.endswith(",47727,gbp")


def test_a_statements_title_lines_split_by_each_titles_qualified_reads(side_a):
    other = PublicationFactory(publisher=side_a.publisher, name="Alpha Weekly", slug="a-weekly")
    weekly_article = ArticleFactory(publication=other, slug="weekly-1")
    reason = sorted(ENTITLED_REASONS)[0]

    def read(reader: str, article, publication, day: int, hour: int = 9) -> None:
        ReadEvent.objects.create(
            at=timezone.now().replace(year=2026, month=10, day=day, hour=hour),
            reader_key=reader,
            article=article,
            publication=publication,
            granted=True,
            reason=reason,
            level="metered",
        )

    for reader in ("u:1", "u:2", "u:3"):
        read(reader, side_a.articles[0], side_a.title, 5)
    read("u:1", side_a.articles[0], side_a.title, 5, hour=15)  # same reader, article, day
    read("u:1", weekly_article, other, 6)
    PublisherStatement.objects.create(
        publisher=side_a.publisher,
        month=date(2026, 10, 1),
        qualified_reads=4,
        total_qualified_reads=4,
        pool=1000,
        amount=800,
        created_at=timezone.now(),
    )
    client = Client()
    client.force_login(side_a.admin)
    page = client.get(f"/publisher/{side_a.publisher.slug}/statements/2026-10/")
    lines = dict(
        (title, (reads_, share))
        for title, reads_, share in re.findall(
            r'<th scope="row">([^<]+)</th><td class="num">(\d+)</td><td class="num">([^<]+)</td>',
            page.content.decode(),
        )
    )
    assert lines == {"Alpha Times": ("3", "6.00 GBP"), "Alpha Weekly": ("1", "2.00 GBP")}


def test_a_publisher_without_titles_is_told_so_not_shown_an_empty_table():
    from articles.models import PublisherStaff
    from tests.factories import PublisherFactory, UserFactory

    publisher = PublisherFactory(name="New Press", slug="new-press")
    admin = UserFactory(email="admin@new.example")
    PublisherStaff.objects.create(user=admin, publisher=publisher, role="admin")
    client = Client()
    client.force_login(admin)
    html = client.get("/publisher/new-press/stats/").content.decode()
    assert "This publisher has no titles yet." in html


def test_the_top_articles_say_what_their_numbers_count(side_a):
    reads(side_a, 10, granted=3, walled=0)
    client = Client()
    client.force_login(side_a.admin)
    html = client.get(
        f"/publisher/{side_a.publisher.slug}/titles/{side_a.title.slug}/stats/",
        {"start": "2026-11-01", "end": "2026-11-30"},
    ).content.decode()
    assert "</a> — 3 reads</li>" in html
