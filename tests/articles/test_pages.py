import pytest

from tests.factories import ArticleFactory, EditorialPickFactory, PublicationFactory, TopicFactory

pytestmark = pytest.mark.django_db


def test_home_has_pitch_top_stories_picks_and_topics(client):
    topic = TopicFactory(name="Science")
    pick = EditorialPickFactory(article__title="An editor's choice")
    ArticleFactory(title="A fresh story", topics=[topic])
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Get all your news in one place." in html
    assert "100&#x27;s of premium titles. One app." in html or "100's of premium titles" in html
    assert "Top stories" in html
    assert "Our Picks" in html
    assert pick.article.title.replace("'", "&#x27;") in html
    assert "Science" in html
    assert "<script src" not in html  # no JavaScript needed
    assert '<link rel="icon" href="/static/masthead/favicon' in html  # no 404 per page


def test_title_page_lists_its_stories(client):
    pub = PublicationFactory(name="Harbour City Courier")
    mine = ArticleFactory(publication=pub)
    other = ArticleFactory()
    response = client.get(f"/t/{pub.slug}/")
    assert response.status_code == 200
    assert mine.title in response.content.decode()
    assert other.title not in response.content.decode()


def test_topic_page(client):
    t = TopicFactory(slug="climate", name="Climate")
    a = ArticleFactory(topics=[t])
    response = client.get("/topic/climate/")
    assert response.status_code == 200
    assert a.title in response.content.decode()


def test_article_page_has_body_byline_and_related(client):
    topic = TopicFactory()
    article = ArticleFactory(
        topics=[topic], author="Jo Reporter", body="<p>Opening line.</p><p>Closing line.</p>"
    )
    related = ArticleFactory(topics=[topic], title="A related tale")
    response = client.get(f"/a/{article.slug}/")
    html = response.content.decode()
    assert response.status_code == 200
    assert article.title in html
    assert "Jo Reporter" in html
    assert "Closing line." in html
    assert "Related Stories" in html
    assert related.title in html
    assert '<meta name="description" content="A short summary of the story.">' in html
    assert '"@type": "NewsArticle"' in html


def test_search_page(client):
    ArticleFactory(title="Lighthouse keeper retires")
    response = client.get("/search/?q=lighthouse")
    assert response.status_code == 200
    assert "Lighthouse keeper retires" in response.content.decode()
    assert client.get("/search/").status_code == 200


@pytest.mark.parametrize("q", ["light\x00house", "\x00", "lighthouse \x00"])
def test_a_search_with_a_nul_is_400_and_says_why(client, q):
    """A NUL reached the query: PostgreSQL refused it (DataError), a 500."""
    ArticleFactory(title="Lighthouse keeper retires")
    response = client.get("/search/", {"q": q})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Search terms cannot contain a NUL character." in html
    assert "Lighthouse keeper retires" not in html


@pytest.mark.parametrize(
    "path",
    [
        "/a/missing/",
        "/t/missing/",
        "/topic/missing/",
        "/nowhere/",
        "/a/" + "x" * 300 + "/",
        "/a/x%00y/",
    ],
)
def test_unknown_pages_404(client, path):
    response = client.get(path)
    assert response.status_code == 404
    html = response.content.decode()
    # The site's own page, with its navigation and a way on; not a bare "Not Found".
    assert "<h1>Page not found</h1>" in html
    assert '<a href="/">' in html and 'href="/titles/"' in html


@pytest.mark.parametrize("page", ["abc", "-1", "0", "99999"])
def test_bad_page_numbers_never_500(client, page):
    pub = PublicationFactory()
    ArticleFactory(publication=pub)
    assert client.get(f"/t/{pub.slug}/?page={page}").status_code == 200


def test_healthz_and_readyz(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.json()
    assert ready.json()["checks"]["database"] == "ok"


def test_a_server_error_page_says_what_happened_and_links_home(rf):
    from django.urls import get_resolver

    page = get_resolver().resolve_error_handler(500)(rf.get("/a/some-article/"))
    assert page.status_code == 500
    html = page.content.decode()
    assert "<h1>Something went wrong</h1>" in html
    assert '<a href="/">front page</a>' in html


def test_a_pale_brand_colour_marks_the_title_but_never_colours_its_name(client):
    """A title's brand colour (any #rrggbb a publisher picks, yellow too) is a mark beside
    the name; the name keeps the site's readable colour."""
    pub = PublicationFactory(name="Northgate Courier", brand_colour="#ada629")
    article = ArticleFactory(publication=pub)
    html = client.get(f"/a/{article.slug}/").content.decode()
    assert 'style="color: #ada629"' not in html
    assert 'class="title-mark" style="border-left-color: #ada629"' in html


def test_the_lead_story_has_its_byline_and_subscribers_badge_like_the_others(client):
    ArticleFactory(
        title="The lead story", author="Jo Reporter", access_level="premium", news_value=100
    )
    html = client.get("/").content.decode()
    lead = html.split('<article class="lead-story">', 1)[1].split("</article>", 1)[0]
    assert "Jo Reporter" in lead
    assert '<span class="badge">Subscribers</span>' in lead


def test_an_article_premium_through_its_title_wears_the_badge_as_the_api_says(client):
    """Cards badge the level a reader meets (the title's rule for an `inherit` article),
    the same as the API's `access_level`, not the article's own field."""
    from subscriptions.models import AccessRule

    premium = ArticleFactory(title="Premium by its title", access_level="inherit", news_value=100)
    AccessRule.objects.create(
        scope="publication", publication=premium.publication, access_level="premium"
    )
    free = ArticleFactory(title="Free by override", access_level="free", news_value=90)
    AccessRule.objects.create(
        scope="publication", publication=free.publication, access_level="premium"
    )
    html = client.get("/").content.decode()
    lead = html.split('<article class="lead-story">', 1)[1].split("</article>", 1)[0]
    assert "Premium by its title" in lead and '<span class="badge">Subscribers</span>' in lead
    card = html.split("Free by override", 1)[0].rsplit('<article class="card">', 1)[1]
    assert "badge" not in card
    api = client.get(f"/api/v1/articles/{premium.slug}/").json()
    assert api["access"]["level"] == "premium"
