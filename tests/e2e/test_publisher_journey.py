"""A publisher admin in a real browser: draft a premium rule, simulate it, publish it (the
next anonymous view is walled), roll it back (the next view reads again); and a colleague
invited by email signs up through the link and lands in the portal."""

import pytest

from articles.models import PublisherStaff
from publishers.models import Invitation
from tests.factories import ArticleFactory, PublicationFactory, PublisherFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery staple"
HIDDEN = "ONLY-FOR-THE-ENTITLED"


@pytest.fixture
def newsroom():
    publisher = PublisherFactory(name="Harbour Media", slug="harbour-media")
    title = PublicationFactory(publisher=publisher, name="Harbour Courier", slug="harbour-courier")
    article = ArticleFactory(
        publication=title,
        slug="pier-reopens",
        title="The pier reopens",
        access_level="inherit",
        body=f"<p>Open paragraph.</p><p>Second paragraph.</p><p>{HIDDEN}</p>",
    )
    admin = UserFactory(email="editor-in-chief@harbour.example", password=PASSWORD)
    PublisherStaff.objects.create(user=admin, publisher=publisher, role="admin")
    return {"publisher": publisher, "title": title, "article": article, "admin": admin}


def sign_in(page, base, email):
    page.goto(base + "/login/?next=/publisher/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Sign in").click()


def anonymous_sees(browser, url) -> str:
    context = browser.new_context()
    try:
        reader = context.new_page()
        reader.goto(url)
        return reader.content()
    finally:
        context.close()


def test_draft_simulate_publish_then_roll_back(live_server, browser, page, newsroom):
    base = live_server.url
    article_url = f"{base}/a/{newsroom['article'].slug}/"
    assert HIDDEN in anonymous_sees(browser, article_url)

    sign_in(page, base, newsroom["admin"].email)
    page.wait_for_url("**/publisher/harbour-media/")
    assert page.get_by_role("heading", name="Titles and rules").is_visible()
    page.get_by_role("link", name="Edit rule of Harbour Courier").click()

    page.get_by_label("Access level").select_option("premium")
    page.get_by_label("Note (why)").fill("Investigations go premium")
    page.get_by_role("button", name="Save draft and simulate").click()
    page.wait_for_url("**/rule/simulate/")
    assert page.get_by_role("table", name="Live rule against the draft, last 30 days").is_visible()
    # A draft changes nothing for readers.
    assert HIDDEN in anonymous_sees(browser, article_url)

    page.get_by_role("button", name="Publish the draft").click()
    page.wait_for_url("**/rule/history/")
    assert page.get_by_text("Published as version 2").is_visible()
    walled = anonymous_sees(browser, article_url)
    assert HIDDEN not in walled and "This story is for subscribers." in walled

    page.get_by_role("button", name="Roll back to 1").click()
    assert page.get_by_text("version 3 restores version 1").is_visible()
    assert HIDDEN in anonymous_sees(browser, article_url)


def test_invited_colleague_signs_up_and_joins(live_server, browser, page, newsroom):
    base = live_server.url
    sign_in(page, base, newsroom["admin"].email)
    page.wait_for_url("**/publisher/harbour-media/")
    page.get_by_role("link", name="Staff").click()
    page.get_by_label("Colleague's email").fill("new.editor@harbour.example")
    page.get_by_label("Role").select_option("editor")
    page.get_by_role("button", name="Send the invitation").click()
    assert page.get_by_text("Invitation sent to new.editor@harbour.example").is_visible()

    token = Invitation.objects.get(email="new.editor@harbour.example").token
    context = browser.new_context()
    try:
        colleague = context.new_page()
        colleague.goto(f"{base}/publisher/invitations/{token}/")
        colleague.get_by_role("link", name="Create an account").click()
        colleague.get_by_label("Email").fill("new.editor@harbour.example")
        colleague.get_by_label("Password").fill(PASSWORD)
        colleague.get_by_role("main").get_by_role("button").first.click()
        colleague.wait_for_url("**/publisher/invitations/**")
        colleague.get_by_role("button", name="Accept and join").click()
        colleague.wait_for_url("**/publisher/harbour-media/")
        assert colleague.get_by_text("Welcome to Harbour Media.").is_visible()
    finally:
        context.close()
    staff = PublisherStaff.objects.get(user__email="new.editor@harbour.example")
    assert staff.role == "editor" and staff.publisher == newsroom["publisher"]
