"""A newcomer in a real browser: home -> a title -> an article -> a related story ->
search; then the metered wall, exactly as a reader meets it."""

import pytest
from django.test import override_settings

from tests.factories import ArticleFactory, EditorialPickFactory, PublicationFactory, TopicFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

HIDDEN = "ONLY-FOR-SUBSCRIBERS"


@pytest.fixture
def catalogue():
    topic = TopicFactory(name="Science", slug="science")
    pub = PublicationFactory(name="Harbour City Courier", slug="harbour-city-courier")
    lead = ArticleFactory(
        publication=pub,
        topics=[topic],
        title="Lighthouse restored after storm",
        slug="lighthouse-restored",
        access_level="free",
        news_value=100,
        body="<p>The lamp is lit again.</p><p>Volunteers cheered.</p>",
    )
    related = ArticleFactory(
        publication=pub,
        topics=[topic],
        title="Harbour wall repairs begin",
        slug="harbour-wall-repairs",
        access_level="free",
    )
    EditorialPickFactory(article=related)
    metered = [
        ArticleFactory(
            publication=pub,
            slug=f"metered-{i}",
            title=f"Metered story {i}",
            access_level="metered",
            body=f"<p>Open {i}.</p><p>Still open {i}.</p><p>{HIDDEN} {i}.</p>",
        )
        for i in range(3)
    ]
    return {"lead": lead, "related": related, "pub": pub, "metered": metered}


def test_newcomer_browses_home_title_article_related_and_search(live_server, page, catalogue):
    page.goto(live_server.url + "/")
    assert page.get_by_role("heading", name="Get all your news in one place.").is_visible()
    assert page.get_by_role("heading", name="Top stories").is_visible()
    assert page.get_by_role("heading", name="Our Picks").is_visible()

    page.get_by_role("link", name="Harbour City Courier").first.click()
    page.wait_for_url("**/t/harbour-city-courier/")
    assert page.get_by_role("heading", name="Harbour City Courier", level=1).is_visible()

    page.get_by_role("link", name="Lighthouse restored after storm").click()
    page.wait_for_url("**/a/lighthouse-restored/")
    assert page.get_by_text("Volunteers cheered.").is_visible()
    related = page.get_by_role("region", name="Related Stories")
    related.get_by_role("link", name="Harbour wall repairs begin").click()
    page.wait_for_url("**/a/harbour-wall-repairs/")

    page.get_by_label("Search stories").fill("lighthouse")
    page.get_by_role("button", name="Search").first.click()
    page.wait_for_url("**/search/?q=lighthouse")
    assert page.get_by_role("link", name="Lighthouse restored after storm").is_visible()


@override_settings(METER_FREE_ARTICLES=2)
def test_metered_reader_meets_the_wall_and_no_hidden_text(live_server, page, catalogue):
    first, second, third = catalogue["metered"]
    page.goto(f"{live_server.url}/a/{first.slug}/")
    assert page.get_by_text("You have 1 free article left this month.").is_visible()
    page.goto(f"{live_server.url}/a/{second.slug}/")
    page.goto(f"{live_server.url}/a/{third.slug}/")
    wall = page.get_by_role("complementary")
    assert wall.get_by_role("heading", name="Sign up to read this article").is_visible()
    assert wall.get_by_text("Fourteen days free").is_visible()
    assert HIDDEN not in page.content()
    sign_in = wall.get_by_role("link", name="Already a member? Sign in here")
    assert sign_in.get_attribute("href") == f"/login/?next=/a/{third.slug}/"
