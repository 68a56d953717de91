"""The enforced Content-Security-Policy in chromium: every kind of page renders and works
with no violation reported — the reader pages, the account pages, the Swagger UI at
/api/docs/ (its init script is a file, its <style> carries the nonce) and the admin."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import ArticleFactory, PublicationFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery staple"

_RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`);
});
"""


def _violations(page: Any) -> list[str]:
    return list(page.evaluate("window.__cspViolations"))


def test_every_kind_of_page_works_under_the_enforced_policy(live_server: Any, page: Any) -> None:
    publication = PublicationFactory(name="Harbour City Courier", slug="harbour-city-courier")
    article = ArticleFactory(
        publication=publication, slug="lighthouse", title="Lighthouse", access_level="free"
    )
    staff = UserFactory(email="editor@example.com", is_staff=True, is_superuser=True)
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    page.add_init_script(_RECORD_VIOLATIONS)
    seen: dict[str, list[str]] = {}

    def visit(path: str) -> None:
        response = page.goto(live_server.url + path)
        assert response.status == 200, path
        assert "script-src 'self'" in response.headers["content-security-policy"], path
        assert "camera=()" in response.headers["permissions-policy"], path
        page.wait_for_load_state("networkidle")
        seen[path] = _violations(page)

    for path in ("/", "/titles/", f"/t/{publication.slug}/", f"/a/{article.slug}/", "/login/"):
        visit(path)
    # The title's brand colour (a style attribute) still applies.
    page.goto(live_server.url + f"/a/{article.slug}/")
    kicker = page.locator(".kicker a")
    assert kicker.evaluate("e => getComputedStyle(e).color") != ""

    visit("/api/docs/")
    title = page.locator(".swagger-ui .info .title")
    title.wait_for()
    assert "Masthead API" in title.inner_text()
    assert page.locator(".opblock").count() > 5  # the schema was fetched and drawn

    page.goto(live_server.url + "/admin/login/")
    page.get_by_label("Email").fill(staff.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/admin/")
    seen["/admin/login/"] = _violations(page)
    visit("/admin/")
    visit("/admin/articles/article/")
    visit(f"/admin/articles/article/{article.pk}/change/")

    page.goto(live_server.url + "/account/")
    seen["/account/"] = _violations(page)

    assert seen == {path: [] for path in seen}
    assert not [text for text in console if "Content Security Policy" in text]
