"""The portal's pages: sign-in redirect, 404 for readers and for another publisher's
objects on every page and form, and the draft -> simulate -> publish -> rollback flow."""

from __future__ import annotations

import pytest
from django.test import Client

from articles.models import PublisherStaff
from publishers.models import RuleDraft, RuleVersion
from subscriptions.models import AccessRule, AuditEntry, PublisherStatement
from tests.mailbox import alternatives

pytestmark = pytest.mark.django_db


def portal_pages(side) -> list[str]:
    p, t, a = side.publisher.slug, side.title.slug, side.articles[0].slug
    return [
        f"/publisher/{p}/",
        f"/publisher/{p}/rule/",
        f"/publisher/{p}/rule/history/",
        f"/publisher/{p}/titles/{t}/rule/",
        f"/publisher/{p}/titles/{t}/rule/simulate/",
        f"/publisher/{p}/titles/{t}/rule/history/",
        f"/publisher/{p}/titles/{t}/stats/",
        f"/publisher/{p}/titles/{t}/stats/?format=csv",
        f"/publisher/{p}/articles/",
        f"/publisher/{p}/articles/{a}/preview/",
        f"/publisher/{p}/stats/",
        f"/publisher/{p}/stats/?format=csv",
        f"/publisher/{p}/statements/",
        f"/publisher/{p}/staff/",
    ]


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_anonymous_visitors_are_sent_to_sign_in(side_a):
    for url in ["/publisher/", *portal_pages(side_a)]:
        response = Client().get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/login/?next="), url


def test_readers_get_404_on_every_page_and_form(side_a, reader):
    client = signed_in(reader)
    for url in ["/publisher/", *portal_pages(side_a)]:
        assert client.get(url).status_code == 404, url
    for url in portal_pages(side_a):
        assert client.post(url, {"access_level": "premium", "action": "draft"}).status_code in (
            404,
            405,
        ), url
    assert not RuleDraft.objects.exists() and not AccessRule.objects.exists()


def test_staff_of_another_publisher_get_404_for_its_pages_and_objects(side_a, side_b):
    client = signed_in(side_b.admin)
    for url in portal_pages(side_a):
        assert client.get(url).status_code == 404, url
    # Their own publisher's URL with the other publisher's title or article: 404 too.
    p = side_b.publisher.slug
    for url in [
        f"/publisher/{p}/titles/{side_a.title.slug}/rule/",
        f"/publisher/{p}/titles/{side_a.title.slug}/rule/history/",
        f"/publisher/{p}/titles/{side_a.title.slug}/stats/",
        f"/publisher/{p}/articles/{side_a.articles[0].slug}/preview/",
    ]:
        assert client.get(url).status_code == 404, url
        assert client.post(url, {"access_level": "premium", "action": "draft"}).status_code in (
            404,
            405,
        )
    response = client.post(
        f"/publisher/{p}/articles/",
        {"access_level": "premium", "articles": [side_a.articles[0].pk]},
    )
    assert response.status_code == 404
    side_a.articles[0].refresh_from_db()
    assert side_a.articles[0].access_level == "inherit"
    assert not RuleDraft.objects.exists() and not AuditEntry.objects.exists()


@pytest.mark.parametrize("bad", ["\u00b2", "1\u00b9", "\u2460", "1.0", " 1", ""])
def test_bulk_override_with_an_article_id_that_is_not_a_number_is_404(side_a, bad):
    """An id like "²" passed str.isdigit(), then int() raised ValueError: a 500."""
    client = signed_in(side_a.admin)
    response = client.post(
        f"/publisher/{side_a.publisher.slug}/articles/",
        {"access_level": "premium", "articles": [side_a.articles[0].pk, bad]},
    )
    assert response.status_code == 404
    side_a.articles[0].refresh_from_db()
    assert side_a.articles[0].access_level == "inherit"
    assert not AuditEntry.objects.exists()


def test_every_page_renders_for_the_publishers_admin(side_a):
    client = signed_in(side_a.admin)
    RuleDraft.objects.create(
        publisher=side_a.publisher,
        publication=side_a.title,
        access_level="premium",
        updated_at="2026-01-01T00:00:00Z",
    )
    for url in portal_pages(side_a):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "no-store" in response["Cache-Control"], url


def test_draft_has_no_effect_until_published_then_rollback_restores(side_a):
    client = signed_in(side_a.admin)
    p, t = side_a.publisher.slug, side_a.title.slug
    article = side_a.articles[0]
    response = client.post(
        f"/publisher/{p}/titles/{t}/rule/",
        {
            "action": "draft",
            "access_level": "premium",
            "free_articles_cap": "",
            "preview_paragraphs": "1",
            "note": "Go premium",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == f"/publisher/{p}/titles/{t}/rule/simulate/"
    # A draft changes nothing for readers.
    assert not AccessRule.objects.exists()
    assert Client().get(f"/api/v1/articles/{article.slug}/").json()["access"]["granted"] is True
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert b"Publish the draft" in page.content
    published = client.post(f"/publisher/{p}/titles/{t}/rule/simulate/")
    assert published.status_code == 302
    assert not RuleDraft.objects.exists()
    access = Client().get(f"/api/v1/articles/{article.slug}/").json()["access"]
    assert access["reason"] == "subscribers_only"
    v2 = RuleVersion.objects.get(publication=side_a.title, number=2)
    assert v2.note == "Go premium" and v2.created_by == side_a.admin
    rolled = client.post(
        f"/publisher/{p}/titles/{t}/rule/history/", {"version": "1", "note": "undo"}
    )
    assert rolled.status_code == 302
    assert Client().get(f"/api/v1/articles/{article.slug}/").json()["access"]["granted"] is True
    assert RuleVersion.objects.filter(publication=side_a.title).count() == 3


@pytest.mark.parametrize(
    "values, message",
    [
        ({"access_level": "gold"}, b"Select a valid choice"),
        ({"free_articles_cap": "-2"}, b"greater than or equal to 0"),
        ({"preview_paragraphs": "11"}, b"less than or equal to 10"),
        ({"preview_paragraphs": "two"}, b"Enter a whole number"),
    ],
)
def test_bad_rule_values_are_explained_and_save_nothing(side_a, values, message):
    client = signed_in(side_a.admin)
    url = f"/publisher/{side_a.publisher.slug}/titles/{side_a.title.slug}/rule/"
    response = client.post(url, {"action": "draft", **values})
    assert response.status_code == 400
    assert message in response.content
    assert not RuleDraft.objects.exists()


def test_editors_cannot_draft_publish_or_roll_back(side_a):
    client = signed_in(side_a.editor)
    p, t = side_a.publisher.slug, side_a.title.slug
    assert (
        client.post(
            f"/publisher/{p}/titles/{t}/rule/", {"action": "draft", "access_level": "free"}
        ).status_code
        == 403
    )
    assert (
        client.post(f"/publisher/{p}/titles/{t}/rule/history/", {"version": "1"}).status_code == 403
    )
    assert (
        client.post(
            f"/publisher/{p}/staff/", {"email": "x@example.com", "role": "admin"}
        ).status_code
        == 403
    )
    assert not RuleDraft.objects.exists() and not RuleVersion.objects.exists()


def test_override_many_articles_at_once(side_a):
    client = signed_in(side_a.editor)
    ids = [a.pk for a in side_a.articles[:2]]
    response = client.post(
        f"/publisher/{side_a.publisher.slug}/articles/?q=story",
        {"access_level": "free", "articles": ids},
    )
    assert response.status_code == 302
    assert sorted(
        side_a.title.articles.filter(access_level="free").values_list("pk", flat=True)
    ) == sorted(ids)
    nothing = client.post(f"/publisher/{side_a.publisher.slug}/articles/", {"access_level": "free"})
    assert nothing.status_code == 400 and b"Select at least one article" in nothing.content


def test_preview_renders_the_real_page_for_each_reader_and_spends_nothing(side_a):
    from subscriptions.models import MeterEntry
    from subscriptions.paywall import events

    AccessRule.objects.create(scope="publication", publication=side_a.title, access_level="premium")
    client = signed_in(side_a.editor)
    article = side_a.articles[0]
    url = f"/publisher/{side_a.publisher.slug}/articles/{article.slug}/preview/"
    anonymous = client.get(url + "?as=anonymous").content.decode()
    assert "Sign up to read this article" in anonymous and "Third paragraph" not in anonymous
    signed = client.get(url + "?as=signed_in").content.decode()
    assert "Subscribe to read this article" in signed and "Third paragraph" not in signed
    entitled = client.get(url + "?as=entitled").content.decode()
    assert "Third paragraph" in entitled and "wall-heading" not in entitled
    assert client.get(url + "?as=root").status_code == 404
    assert events.flush() == 0 and not MeterEntry.objects.exists()


def test_switching_between_publishers(side_a, side_b):
    PublisherStaff.objects.create(user=side_a.admin, publisher=side_b.publisher, role="editor")
    client = signed_in(side_a.admin)
    chooser = client.get("/publisher/")
    assert chooser.status_code == 200
    assert (
        side_a.publisher.name.encode() in chooser.content
        and side_b.publisher.name.encode() in chooser.content
    )
    page = client.get(f"/publisher/{side_a.publisher.slug}/").content.decode()
    assert f'href="/publisher/{side_b.publisher.slug}/"' in page
    assert client.get(f"/publisher/{side_b.publisher.slug}/staff/").status_code == 200


def test_statement_page_and_csv(side_a, side_b):
    from datetime import date

    from django.utils import timezone

    PublisherStatement.objects.create(
        publisher=side_a.publisher,
        month=date(2026, 10, 1),
        qualified_reads=3,
        total_qualified_reads=4,
        pool=1000,
        amount=750,
        created_at=timezone.now(),
    )
    client = signed_in(side_a.admin)
    page = client.get(f"/publisher/{side_a.publisher.slug}/statements/2026-10/")
    html = page.content.decode()
    assert page.status_code == 200 and "<strong>7.50 GBP</strong>" in html
    assert "Pool 10.00 GBP" in html and "minor units" not in html
    listing = client.get(f"/publisher/{side_a.publisher.slug}/statements/").content.decode()
    assert ">7.50 GBP<" in listing and ">10.00 GBP<" in listing and "minor units" not in listing
    csv = client.get(
        f"/publisher/{side_a.publisher.slug}/statements/2026-10/?format=csv"
    ).content.decode()
    # The CSV keeps exact integers and names their unit.
    assert csv.splitlines()[0] == "month,title,qualified_reads,share_minor_units,currency"
    assert csv.splitlines()[-1] == "2026-10,TOTAL,3,750,gbp"
    assert (
        signed_in(side_b.admin)
        .get(f"/publisher/{side_a.publisher.slug}/statements/2026-10/")
        .status_code
        == 404
    )
    assert client.get(f"/publisher/{side_a.publisher.slug}/statements/2026-13/").status_code == 404


def test_invitations_expire_are_used_once_and_need_an_account(
    side_a, reader, django_capture_on_commit_callbacks
):
    from datetime import timedelta

    import time_machine
    from django.core import mail
    from django.utils import timezone

    from publishers.models import Invitation

    admin = signed_in(side_a.admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(
            f"/publisher/{side_a.publisher.slug}/staff/", {"email": reader.email, "role": "editor"}
        )
    assert response.status_code == 302
    invitation = Invitation.objects.get()
    assert f"/publisher/invitations/{invitation.token}/" in mail.outbox[-1].body
    url = f"/publisher/invitations/{invitation.token}/"
    # Anonymous: offered sign-up and sign-in, and a POST joins nobody.
    assert b"Create an account" in Client().get(url).content
    Client().post(url)
    assert not PublisherStaff.objects.filter(user=reader).exists()
    with time_machine.travel(timezone.now() + timedelta(days=8)):
        late = signed_in(reader)
        assert late.get(url).status_code == 410
        late.post(url)
    assert not PublisherStaff.objects.filter(user=reader).exists()
    client = signed_in(reader)
    assert client.post(url).status_code == 302
    assert PublisherStaff.objects.get(user=reader).role == "editor"
    assert client.get(url).status_code == 410  # used
    assert Client().get("/publisher/invitations/not-a-token/").status_code == 404
    # A NUL reached the lookup: PostgreSQL refused it (DataError), a 500.
    assert Client().get("/publisher/invitations/not%00a-token/").status_code == 404
    assert client.post(f"/publisher/invitations/{invitation.token}%00/").status_code == 404
    assert AuditEntry.objects.filter(action="staff.joined", publisher=side_a.publisher).exists()


def test_bad_invitations_and_removals(side_a, side_b):
    admin = signed_in(side_a.admin)
    url = f"/publisher/{side_a.publisher.slug}/staff/"
    bad = admin.post(url, {"email": "not-an-email", "role": "editor"})
    assert bad.status_code == 400 and b"valid email address" in bad.content
    assert admin.post(url, {"email": "x@example.com", "role": "owner"}).status_code == 400
    other = PublisherStaff.objects.get(user=side_b.admin)
    assert admin.post(url, {"remove": other.pk}).status_code == 404
    assert PublisherStaff.objects.filter(pk=other.pk).exists()
    editor = PublisherStaff.objects.get(user=side_a.editor, publisher=side_a.publisher)
    assert admin.post(url, {"remove": editor.pk}).status_code == 302
    assert signed_in(side_a.editor).get(f"/publisher/{side_a.publisher.slug}/").status_code == 404
    me = PublisherStaff.objects.get(user=side_a.admin)
    assert admin.post(url, {"remove": me.pk}).status_code == 409  # the last admin stays


def test_an_invitation_goes_through_the_outbox_once_to_the_address(
    side_a, django_capture_on_commit_callbacks, settings
):
    from django.core import mail
    from django.urls import reverse

    from publishers.models import Invitation
    from subscriptions.models import Notification

    admin = signed_in(side_a.admin)
    with django_capture_on_commit_callbacks(execute=True):
        admin.post(
            f"/publisher/{side_a.publisher.slug}/staff/",
            {"email": "new.colleague@example.org", "role": "editor"},
        )
    invitation = Invitation.objects.get()
    note = Notification.objects.get()
    assert (note.user, note.email, note.kind, note.status) == (
        None,
        "new.colleague@example.org",
        "staff_invitation",
        "sent",
    )
    [message] = mail.outbox
    link = settings.SITE_URL + reverse("publishers:invitation", args=[invitation.token])
    assert message.to == ["new.colleague@example.org"]
    assert link in message.body
    assert f'href="{link}"' in alternatives(message)[0][0]
    assert side_a.publisher.name in message.subject
    # Owed once: the same invitation owed again sends nothing more.
    from publishers.services import _owe_invitation

    with django_capture_on_commit_callbacks(execute=True):
        _owe_invitation(invitation)
    assert Notification.objects.count() == 1 and len(mail.outbox) == 1


@pytest.mark.parametrize(
    "window, words",
    [
        ("month", "from the start of each calendar month"),
        ("rolling", "over a rolling 30 days, as the site does"),
    ],
)
def test_the_simulator_page_says_which_meter_window_it_modelled(side_a, settings, window, words):
    settings.METER_WINDOW = window
    settings.METER_ROLLING_DAYS = 30
    client = signed_in(side_a.admin)
    p, t = side_a.publisher.slug, side_a.title.slug
    client.post(
        f"/publisher/{p}/titles/{t}/rule/",
        {
            "action": "draft",
            "access_level": "premium",
            "free_articles_cap": "",
            "preview_paragraphs": "1",
            "note": "",
        },
    )
    page = client.get(f"/publisher/{p}/titles/{t}/rule/simulate/").content.decode()
    assert words in page
