"""An ops member's morning in a real browser: sign in -> the dashboard -> find a reader
by a Gmail variant of their address -> their timeline -> extend their trial with a
reason; the reader sees it on their account page, the admin's audit log lists it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.services import reader_trial_start
from subscriptions.models import StaffAction, Subscription
from tests.factories import UserFactory
from tests.ops.conftest import ensure_ops_group

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "Lighthouse-Keeper-0917"


def sign_in(page, live_server, email: str, next_path: str) -> None:
    page.goto(live_server.url + next_path)
    page.wait_for_url(f"**/login/?next={next_path}")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(live_server.url + next_path)


def test_ops_finds_a_reader_reads_the_timeline_and_extends_the_trial(live_server, browser, page):
    ops = UserFactory(email="ops@masthead.local", password=PASSWORD, is_staff=True)
    ops.groups.add(ensure_ops_group())
    reader = UserFactory(email="Jane.Doe@gmail.com", password=PASSWORD)
    reader_trial_start(user=reader, now=timezone.now() - timedelta(days=11))  # three days left
    ends = Subscription.objects.get(user=reader).trial_ends_at
    assert ends is not None

    sign_in(page, live_server, "ops@masthead.local", "/ops/")
    assert page.get_by_role("heading", name="Subscriptions dashboard").is_visible()
    assert page.locator("svg").first.is_visible()

    page.get_by_role("navigation", name="Operations").get_by_label("Email, cus_… or sub_…").fill(
        "janedoe+news@googlemail.com"
    )
    page.get_by_role("button", name="Find").click()
    page.wait_for_url("**/ops/subscribers/*/")
    assert page.get_by_role("heading", name="Jane.Doe@gmail.com").is_visible()
    timeline = page.locator("table.timeline")
    assert timeline.get_by_text("trial.started").is_visible()
    assert timeline.get_by_text("Signed up").is_visible()

    page.get_by_role("link", name="Extend the trial").click()
    page.get_by_label("Days").fill("7")
    page.get_by_label("Reason").fill("Support ticket 1234: the app was down for a week")
    page.get_by_role("button", name="Confirm: extend the trial").click()
    page.wait_for_url("**/ops/subscribers/*/")
    assert page.get_by_text("The trial now ends on").is_visible()
    assert timeline.get_by_text("Staff: trial.extended").is_visible()
    assert Subscription.objects.get(user=reader).trial_ends_at == ends + timedelta(days=7)
    assert StaffAction.objects.get().actor == ops

    page.goto(live_server.url + "/admin/subscriptions/staffaction/")
    assert page.get_by_text("Support ticket 1234").first.is_visible()

    reader_context = browser.new_context()
    reader_page = reader_context.new_page()
    sign_in(reader_page, live_server, "Jane.Doe@gmail.com", "/account/")
    assert reader_page.locator("#trial-days-left").inner_text().startswith("10 days left")
    reader_context.close()
