import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.models import TrialClaim
from accounts.services import reader_trial_start, trial_claim_verify
from subscriptions.models import AuditEntry, Notification, Subscription
from tests.factories import ArticleFactory, PlanFactory, UserFactory
from tests.mailbox import alternatives, link_in

pytestmark = pytest.mark.django_db

User = get_user_model()
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
GOOD_PASSWORD = "correct horse battery staple"


def signup(client, email="ann@example.org", password=GOOD_PASSWORD, query="", **extra):
    return client.post(f"/signup/{query}", {"email": email, "password1": password, **extra})


def test_pages_are_at_the_contract_paths(client):
    for path in ("/signup/", "/login/"):
        response = client.get(path)
        assert response.status_code == 200
        html = response.content.decode()
        assert 'name="csrfmiddlewaretoken"' in html
        assert "Masthead" in html  # inside the site's layout
    assert client.get("/account/").status_code == 302


def test_allauth_links_point_at_the_contract_paths():
    from django.urls import reverse

    assert reverse("account_signup") == "/signup/"
    assert reverse("account_login") == "/login/"
    assert reverse("account_logout") == "/logout/"
    assert reverse("account_reset_password").startswith("/accounts/")


@time_machine.travel(NOW, tick=False)
def test_signup_starts_the_trial_signs_in_and_sends_emails(
    client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = signup(client, email="Ann@Example.org")
    assert response.status_code == 302
    assert response["Location"] == "/account/"
    user = User.objects.get()
    assert user.email == "ann@example.org"
    sub = Subscription.objects.get(user=user)
    assert sub.status == "trialing"
    assert sub.trial_ends_at == NOW + timedelta(days=14)
    subjects = sorted(m.subject for m in mail.outbox)
    assert any("free trial has started" in s for s in subjects)
    assert any("confirm" in s.lower() for s in subjects)  # verification sent, not blocking
    page = client.get("/account/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Free trial" in html
    assert "14 days left" in html


def test_signup_honours_next_and_records_where_the_reader_came_from(client):
    article = ArticleFactory(slug="big-story")
    page = client.get("/signup/?next=/a/big-story/&from=big-story")
    html = page.content.decode()
    assert 'name="from" value="big-story"' in html
    assert 'value="/a/big-story/"' in html
    response = signup(client, next="/a/big-story/", **{"from": "big-story"})
    assert response.status_code == 302
    assert response["Location"] == "/a/big-story/"
    claim = TrialClaim.objects.get()
    assert claim.article == article
    assert claim.user == User.objects.get()


@pytest.mark.parametrize("where", ["form", "query"])
def test_signup_ignores_a_from_that_names_no_article(client, where):
    """A NUL in `from` reached the lookups and the audit entry: PostgreSQL refused it
    (DataError), a 500 that lost the sign-up. The hint names no article: ignored."""
    ArticleFactory(slug="big-story")
    bad = "big\x00story"
    if where == "form":
        response = signup(client, **{"from": bad})
    else:
        response = signup(client, query="?from=big%00story")
    assert response.status_code == 302
    user = User.objects.get(email="ann@example.org")
    claim = TrialClaim.objects.get(user=user)
    assert (claim.article, claim.article_slug) == (None, "")
    assert Subscription.objects.get(user=user).status == "trialing"


def test_signup_ignores_an_unsafe_next(client):
    response = signup(client, next="https://evil.example/steal")
    assert response.status_code == 302
    assert response["Location"] == "/account/"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"email": "not-an-email"}, "valid email address"),
        ({"email": '""@b.de'}, "the part before the @ is empty"),
        ({"email": '"\\ "@b.de'}, "the part before the @ is empty"),
        ({"email": ""}, "required"),
        ({"password": "short"}, "too short"),
        ({"password": "password123"}, "too common"),
        ({"password": "83749201938475"}, "entirely numeric"),
        # The API's sign-in takes 128 characters at most: the web took 5,000, and made an
        # account the app could never sign in to.
        ({"password": "correct horse " * 10}, "too long (128 characters at most)"),
    ],
)
def test_signup_form_says_what_is_wrong(client, fields, message):
    data = {"email": "ann@example.org", "password": GOOD_PASSWORD, **fields}
    response = signup(client, email=data["email"], password=data["password"])
    assert response.status_code == 200
    assert message in response.content.decode()
    assert User.objects.count() == 0
    assert Subscription.objects.count() == 0


def assert_answered_alike_and_owner_told(client, response, variant, before):
    """No "already exists" on the page: the same "check your inbox" answer a reader gets
    after asking for a verification email, and the address's owner is emailed instead."""
    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"
    page = client.get(response["Location"]).content.decode()
    assert "already" not in page.lower()
    # The site's own page in its own words, with a way on.
    assert "<h1>Check your inbox</h1>" in page
    assert 'href="/login/"' in page
    assert (User.objects.count(), Subscription.objects.count()) == before
    told = [m for m in mail.outbox if m.to == [variant.lower()]]
    assert len(told) == 1
    assert "/accounts/password/reset/" in told[0].body


@pytest.mark.parametrize("variant", ["ANN@example.org", "Foo.Bar+x@gmail.com"])
def test_signup_with_an_existing_or_gmail_variant_email_is_answered_alike(
    client, django_capture_on_commit_callbacks, variant
):
    existing = "ann@example.org" if variant.startswith("ANN") else "foobar@googlemail.com"
    signup(Client(), email=existing)
    before = (User.objects.count(), Subscription.objects.count())
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = signup(client, email=variant)
    assert_answered_alike_and_owner_told(client, response, variant, before)


@pytest.mark.parametrize(
    ("first", "variant"),
    [
        ("alice@example.org", '"alice"@example.org'),
        ("bobsmith@gmail.com", '"bob.smith"@gmail.com'),
        ("ann@bücher.de", "ann@xn--bcher-kva.de"),
        ("ann@example.org", "ann@\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45.org"),
    ],
)
def test_signup_with_a_quoted_idn_or_unicode_variant_gets_no_second_trial(
    client, django_capture_on_commit_callbacks, first, variant
):
    signup(Client(), email=first)
    before = (User.objects.count(), Subscription.objects.count())
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = signup(client, email=variant)
    assert_answered_alike_and_owner_told(client, response, variant, before)


def test_a_deleted_reader_can_come_back_but_gets_no_second_trial(client):
    user = UserFactory(email="ann@example.org")
    reader_trial_start(user=user)
    trial_claim_verify(user=user, email="ann@example.org")
    user.delete()
    response = signup(client, email="ann+back@example.org")
    assert response.status_code == 302
    back = User.objects.get()
    assert not Subscription.objects.filter(user=back, status="trialing").exists()


def test_login_and_logout(client):
    UserFactory(email="ann@example.org")
    response = client.post("/login/", {"login": "ANN@example.org", "password": GOOD_PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/account/"
    assert client.get("/account/").status_code == 200
    assert client.get("/logout/").status_code == 200  # a confirmation page; GET does not sign out
    assert client.get("/account/").status_code == 200
    response = client.post("/logout/")
    assert response.status_code == 302
    assert client.get("/account/").status_code == 302


def test_login_rotates_the_session(client):
    UserFactory(email="ann@example.org")
    client.get("/login/")
    session = client.session
    session["probe"] = 1
    session.save()
    before = client.session.session_key
    client.post("/login/", {"login": "ann@example.org", "password": GOOD_PASSWORD})
    assert client.session.session_key != before


def test_login_honours_next(client):
    UserFactory(email="ann@example.org")
    response = client.post(
        "/login/?next=/a/big-story/",
        {"login": "ann@example.org", "password": GOOD_PASSWORD, "next": "/a/big-story/"},
    )
    assert response["Location"] == "/a/big-story/"


def test_login_page_carries_next_through_the_form(client):
    html = client.get("/login/?next=/a/big-story/").content.decode()
    assert 'name="next" value="/a/big-story/"' in html
    assert "/signup/?next=/a/big-story/" in html.replace("%2F", "/")


def test_login_with_a_wrong_password_says_so(client):
    UserFactory(email="ann@example.org")
    response = client.post("/login/", {"login": "ann@example.org", "password": "wrong-wrong"})
    assert response.status_code == 200
    assert "not correct" in response.content.decode()


def test_forms_need_csrf():
    client = Client(enforce_csrf_checks=True)
    assert signup(client).status_code == 403
    assert User.objects.count() == 0


def test_account_page_shows_status_plan_and_buttons(client):
    PlanFactory(code="monthly", name="Monthly", amount=999)
    PlanFactory(code="yearly", name="Yearly", interval="year", amount=9900)
    user = UserFactory()
    with time_machine.travel(NOW, tick=False):
        reader_trial_start(user=user)
    client.force_login(user)
    with time_machine.travel(NOW + timedelta(days=10, hours=1), tick=False):
        html = client.get("/account/").content.decode()
    assert "Free trial" in html
    assert "4 days left" in html
    assert 'action="/billing/checkout/"' in html
    assert 'value="monthly"' in html and 'value="yearly"' in html
    assert "9.99 GBP" in html
    assert "Manage billing" not in html  # nothing billed through Stripe yet
    assert 'action="/account/cancel-trial/"' in html
    assert "/account/delete/" in html


def test_account_page_once_subscribed_through_stripe_during_the_trial(client):
    PlanFactory(code="monthly", name="Monthly", amount=999)
    user = UserFactory()
    with time_machine.travel(NOW, tick=False):
        sub = reader_trial_start(user=user)
    Subscription.objects.filter(pk=sub.pk).update(stripe_subscription_id="sub_live")
    client.force_login(user)
    with time_machine.travel(NOW + timedelta(days=1), tick=False):
        html = client.get("/account/").content.decode()
    assert "Manage billing" in html
    assert 'action="/billing/checkout/"' not in html  # no second subscription offered
    assert "Cancel my free trial" not in html  # a Stripe trial is cancelled in the portal


def test_account_page_names_the_plan_and_when_it_renews(client):
    plan = PlanFactory(code="monthly", name="Monthly", amount=999)
    user = UserFactory()
    Subscription.objects.create(
        user=user, status="active", plan=plan, current_period_end=NOW + timedelta(days=20)
    )
    client.force_login(user)
    with time_machine.travel(NOW, tick=False):
        html = client.get("/account/").content.decode()
    assert '<td id="plan">Monthly</td>' in html  # the plan's name, not its code
    assert "Next renewal" in html and "21 March 2026" in html


def test_account_page_of_a_canceled_subscription_says_when_it_ended(client):
    plan = PlanFactory(code="monthly", name="Monthly", amount=999)
    user = UserFactory()
    Subscription.objects.create(
        user=user, status="canceled", plan=plan, current_period_end=NOW - timedelta(days=5)
    )
    client.force_login(user)
    with time_machine.travel(NOW, tick=False):
        html = client.get("/account/").content.decode()
    assert "Next renewal" not in html  # it will not renew
    assert "Ended 24 February 2026" in html


def test_account_page_past_due_says_to_update_the_card_before_access_ends(client):
    plan = PlanFactory(code="monthly", name="Monthly", amount=999)
    user = UserFactory()
    Subscription.objects.create(
        user=user,
        status="past_due",
        plan=plan,
        current_period_end=NOW - timedelta(days=2),
        past_due_since=NOW - timedelta(days=2),
        stripe_subscription_id="sub_overdue",
    )
    client.force_login(user)
    with time_machine.travel(NOW, tick=False):
        html = client.get("/account/").content.decode()
    grace_end = (NOW - timedelta(days=2) + timedelta(days=settings.GRACE_PERIOD_DAYS)).strftime(
        "%-d %B %Y"
    )
    assert "Your last payment did not go through" in html
    assert f"update your card by {grace_end}" in html
    assert "Manage billing" in html
    assert "Next renewal" not in html  # the renewal date has passed unpaid


def test_account_page_for_a_reader_without_a_subscription(client):
    client.force_login(UserFactory())
    html = client.get("/account/").content.decode()
    assert "No subscription" in html
    assert "Cancel my free trial" not in html


def test_cancel_button_ends_the_trial(client):
    user = UserFactory()
    reader_trial_start(user=user)
    client.force_login(user)
    assert client.get("/account/cancel-trial/").status_code == 405
    response = client.post("/account/cancel-trial/")
    assert response.status_code == 302
    assert Subscription.objects.get(user=user).status == "canceled"
    html = client.get("/account/").content.decode()
    assert "Canceled" in html
    assert "Your free trial has ended" in html


def test_delete_account_needs_the_password(client):
    user = UserFactory()
    client.force_login(user)
    response = client.post("/account/delete/", {"password": "wrong-wrong"})
    assert response.status_code == 400
    assert "not right" in response.content.decode()
    assert User.objects.filter(pk=user.pk).exists()


def test_delete_account_removes_personal_data_and_keeps_the_records(client):
    user = UserFactory(email="ann@example.org")
    sub = reader_trial_start(user=user)
    trial_claim_verify(user=user, email="ann@example.org")  # a verified claim binds for good
    client.force_login(user)
    response = client.post("/account/delete/", {"password": GOOD_PASSWORD})
    assert response.status_code == 302
    assert not User.objects.exists()
    sub.refresh_from_db()
    assert sub.user is None
    assert AuditEntry.objects.filter(subscription=sub).count() == 1
    claim = TrialClaim.objects.get()
    assert claim.user is None
    assert "ann" not in claim.identity_hash
    assert client.get("/account/").status_code == 302
    # the same person cannot take a second trial
    signup(Client(), email="Ann+2@example.org")
    assert not Subscription.objects.filter(status="trialing", user__isnull=False).exists()


def test_password_reset_sends_an_email(client, django_capture_on_commit_callbacks):
    UserFactory(email="ann@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/accounts/password/reset/", {"email": "ann@example.org"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["ann@example.org"]
    assert "/accounts/password/reset/key/" in mail.outbox[0].body
    html = alternatives(mail.outbox[0])[0]
    assert html[1] == "text/html"
    assert "/accounts/password/reset/key/" in str(html[0])


def test_verification_email_has_text_and_html(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        signup(client)
    confirm = next(m for m in mail.outbox if "confirm" in m.subject.lower())
    assert "/accounts/confirm-email/" in confirm.body
    assert "/accounts/confirm-email/" in str(alternatives(confirm)[0][0])


def test_verifying_the_email_keeps_the_trial(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        signup(client)
    confirm = next(m for m in mail.outbox if "confirm" in m.subject.lower())
    url = link_in(r"http://testserver(/accounts/confirm-email/\S+/)", confirm)
    assert client.post(url).status_code == 302
    from allauth.account.models import EmailAddress

    assert EmailAddress.objects.get().verified is True
    assert Subscription.objects.get().status == "trialing"
    assert "we have sent you an email" not in client.get("/account/").content.decode()


def test_web_signups_are_rate_limited_per_address(client, settings):
    settings.SIGNUP_RATE = "2/hour"
    assert signup(client, email="a1@example.org").status_code == 302
    client.logout()
    assert signup(client, email="a2@example.org").status_code == 302
    client.logout()
    limited = signup(client, email="a3@example.org")
    assert limited.status_code == 429
    assert "Too many attempts" in limited.content.decode()
    assert User.objects.count() == 2


def test_web_failed_signins_are_limited_per_email(client):
    UserFactory(email="ann@example.org")
    for _ in range(5):
        client.post("/login/", {"login": "ann@example.org", "password": "wrong-wrong"})
    response = client.post("/login/", {"login": "ann@example.org", "password": GOOD_PASSWORD})
    assert response.status_code == 429
    assert "Too many failed login attempts" in response.content.decode()
    assert client.get("/account/").status_code == 302


def test_allauth_pages_render_in_the_site_layout(client):
    client.force_login(UserFactory())
    for path in ("/accounts/password/change/", "/accounts/email/", "/accounts/password/reset/"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "site-header" in response.content.decode()


def test_the_welcome_email_is_sent_once_even_if_signup_and_the_task_run_twice(
    django_capture_on_commit_callbacks,
):
    from accounts.services import signup_complete
    from subscriptions.tasks import send_notifications

    user = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        signup_complete(user=user)
        signup_complete(user=user)
    send_notifications("welcome", [user.pk])
    assert len(mail.outbox) == 1
    assert "free trial has started" in mail.outbox[0].subject
    assert f"{settings.SITE_URL}/account/" in mail.outbox[0].body
    assert "/account/" in alternatives(mail.outbox[0])[0][0]
    assert Notification.objects.get(user=user).kind == "welcome"


def test_the_welcome_email_is_not_sent_for_a_deleted_account(django_capture_on_commit_callbacks):
    from accounts.services import signup_complete

    user = UserFactory()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        signup_complete(user=user)
    user.delete()
    for callback in callbacks:
        callback()
    assert mail.outbox == []


def test_account_page_after_the_trial_end_says_it_ended_before_any_job(client):
    user = UserFactory()
    with time_machine.travel(NOW, tick=False):
        reader_trial_start(user=user)
    with time_machine.travel(NOW + timedelta(days=14), tick=False):
        client.force_login(user)
        html = client.get("/account/").content.decode()
    assert "Trial ended" in html
    assert "Cancel my free trial" not in html
    assert "free allowance" in html


def test_changing_the_password_on_the_web_revokes_api_tokens(client):
    from rest_framework.test import APIClient

    api = APIClient()
    token = api.post(
        "/api/v1/auth/signup/",
        {"email": "ann@example.org", "password": GOOD_PASSWORD},
        format="json",
    ).json()["token"]
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.get("/api/v1/me/").status_code == 200
    client.force_login(User.objects.get())
    response = client.post(
        "/accounts/password/change/",
        {
            "oldpassword": GOOD_PASSWORD,
            "password1": "a brand new passphrase",
            "password2": "a brand new passphrase",
        },
    )
    assert response.status_code == 302
    assert api.get("/api/v1/me/").status_code == 401
    assert client.get("/account/").status_code == 200  # this browser stays signed in


def test_a_new_password_past_the_apis_limit_is_refused_on_the_web_too(client):
    """Every new password meets the sign-in's limit (128 characters), or no app could
    sign in with it: the web's change and reset forms refused nothing before."""
    from rest_framework.test import APIClient

    user = UserFactory(email="ann@example.org", password=GOOD_PASSWORD)
    client.force_login(user)
    long = "a brand new passphrase " * 6  # 138 characters
    response = client.post(
        "/accounts/password/change/",
        {"oldpassword": GOOD_PASSWORD, "password1": long, "password2": long},
    )
    assert response.status_code == 200
    assert "too long (128 characters at most)" in response.content.decode()
    user.refresh_from_db()
    assert user.check_password(GOOD_PASSWORD)
    just = long[:128]
    response = client.post(
        "/accounts/password/change/",
        {"oldpassword": GOOD_PASSWORD, "password1": just, "password2": just},
    )
    assert response.status_code == 302
    login = APIClient().post(
        "/api/v1/auth/login/", {"email": "ann@example.org", "password": just}, format="json"
    )
    assert login.status_code == 200


def test_allauths_own_signup_path_is_ours_too(client, django_capture_on_commit_callbacks):
    """allauth still mounts /accounts/signup/: a sign-up there is ours (trial, alike answer
    on a taken address), never allauth's bare one saying "already exists"."""
    signup(Client(), email="ann@example.org")
    before = (User.objects.count(), Subscription.objects.count())
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/accounts/signup/", {"email": "ANN@example.org", "password1": "a-long-pass-1234"}
        )
    assert_answered_alike_and_owner_told(client, response, "ANN@example.org", before)

    fresh = Client().post(
        "/accounts/signup/", {"email": "bo@example.org", "password1": "a-long-pass-1234"}
    )
    assert fresh.status_code == 302
    assert Subscription.objects.filter(user__email="bo@example.org").count() == 1


@pytest.mark.django_db
def test_sign_in_page_shows_one_reset_link_and_the_checkbox_beside_its_label(client):
    html = client.get("/login/").content.decode()
    reset = reverse("account_reset_password")
    assert html.count(f'href="{reset}"') == 1
    assert html.lower().count("forgot") == 1
    # "Remember me": the checkbox inside its label, not under it like a text field.
    assert re.search(r'<label for="id_remember">\s*<input type="checkbox" name="remember"', html)
    # The password's description (the reset link) is on the page, under the id it names.
    assert 'aria-describedby="id_password_helptext"' in html
    assert html.count('id="id_password_helptext"') == 1


@pytest.mark.django_db
def test_sign_up_and_reset_pages_say_each_thing_once(client):
    signup = client.get("/signup/").content.decode()
    assert signup.count("at least 8 characters") == 1
    assert signup.count('id="id_password1_helptext"') == 1
    reset = client.get(reverse("account_reset_password")).content.decode()
    assert reset.count('name="email"') == 1
    assert reset.lower().count("forgotten your password") == 1


@pytest.mark.django_db
def test_remember_me_is_in_sentence_case(client):
    html = client.get("/login/").content.decode()
    assert "Remember me" in html and "Remember Me" not in html


@pytest.mark.django_db
def test_reset_pages_offer_links_that_go_somewhere_not_a_bare_contact_us(client):
    reset = client.get(reverse("account_reset_password")).content.decode()
    assert "contact us" not in reset.lower()
    for name in ("account_login", "account_signup"):
        assert f'href="{reverse(name)}"' in reset
    done = client.post(reverse("account_reset_password"), {"email": "nobody@example.org"})
    assert done.status_code == 302
    page = client.get(done["Location"]).content.decode()
    assert "contact us" not in page.lower()
    assert "Check your inbox" in page
    assert f'href="{reverse("account_reset_password")}"' in page


def test_staff_signing_in_find_their_way_to_the_portal_and_the_dashboard(client):
    from articles.models import PublisherStaff
    from tests.factories import PublisherFactory
    from tests.ops.conftest import ensure_ops_group

    reader = UserFactory()
    client.force_login(reader)
    html = client.get("/account/").content.decode()
    assert "Your work" not in html and 'href="/publisher/"' not in html

    editor = UserFactory()
    PublisherStaff.objects.create(user=editor, publisher=PublisherFactory(), role="editor")
    client.force_login(editor)
    html = client.get("/account/").content.decode()
    assert '<a href="/publisher/">Publisher portal</a>' in html
    assert 'href="/ops/"' not in html

    ops = UserFactory()
    ops.groups.add(ensure_ops_group())
    client.force_login(ops)
    html = client.get("/account/").content.decode()
    assert '<a href="/ops/">Operations dashboard</a>' in html
    assert 'href="/publisher/"' not in html
