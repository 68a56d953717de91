"""A rule page says what applies now, each value with where it comes from, the same
words as the titles page: never a bare "inherit"."""

from __future__ import annotations

import pytest
from django.test import Client

from subscriptions.models import AccessRule

pytestmark = pytest.mark.django_db


def page(side, url: str) -> str:
    client = Client()
    client.force_login(side.editor)
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def live_line(html: str) -> str:
    start = html.index("<p>Live now")
    return html[start : html.index("</p>", start)]


def test_a_title_with_no_rule_of_its_own_shows_the_resolved_values_and_their_sources(
    side_a, settings
):
    settings.PAYWALL_DEFAULT_LEVEL = "metered"
    settings.PAYWALL_PREVIEW_PARAGRAPHS = 2
    AccessRule.objects.create(scope="publisher", publisher=side_a.publisher, free_articles_cap=3)
    line = live_line(
        page(side_a, f"/publisher/{side_a.publisher.slug}/titles/{side_a.title.slug}/rule/")
    )
    assert "inherit" not in line
    assert 'level <strong>Metered</strong> <span class="source">(site default)</span>' in line
    assert 'cap <strong>3</strong> <span class="source">(publisher default)</span>' in line
    assert 'paragraphs <strong>2</strong> <span class="source">(site default)</span>' in line
    home = page(side_a, f"/publisher/{side_a.publisher.slug}/")
    assert 'Metered <span class="source">(site default)</span>' in home


def test_a_titles_own_value_says_so(side_a):
    AccessRule.objects.create(scope="publication", publication=side_a.title, access_level="premium")
    line = live_line(
        page(side_a, f"/publisher/{side_a.publisher.slug}/titles/{side_a.title.slug}/rule/")
    )
    assert (
        'level <strong>Subscribers only</strong> <span class="source">(this title)</span>' in line
    )
    assert 'cap <strong>none</strong> <span class="source">(none set)</span>' in line


def test_the_publisher_default_page_resolves_over_the_site_rule(side_a, settings):
    settings.PAYWALL_PREVIEW_PARAGRAPHS = 2
    AccessRule.objects.create(scope="site", access_level="registered")
    AccessRule.objects.create(scope="publisher", publisher=side_a.publisher, preview_paragraphs=4)
    line = live_line(page(side_a, f"/publisher/{side_a.publisher.slug}/rule/"))
    assert "inherit" not in line
    assert (
        'level <strong>Registered readers</strong> <span class="source">(site default)</span>'
        in line
    )
    assert 'paragraphs <strong>4</strong> <span class="source">(publisher default)</span>' in line


def test_the_portal_names_levels_as_the_rule_form_does():
    from django.template import Context, Template

    rendered = Template(
        "{% load portal %}{{ a|level_label }}|{{ b|level_label }}|{{ c|level_label }}"
    ).render(Context({"a": "premium", "b": "registered", "c": "inherit"}))
    assert rendered == "Subscribers only|Registered readers|inherit"
