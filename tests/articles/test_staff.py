"""`manage.py add_publisher_staff`: staff rights over one publisher, through a service."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from articles.models import Publisher, PublisherStaff


@pytest.mark.django_db
def test_add_publisher_staff_creates_account_and_is_idempotent() -> None:
    publisher = Publisher.objects.create(slug="acme-press", name="Acme Press")
    out = StringIO()
    call_command(
        "add_publisher_staff", "editor@example.com", publisher="acme-press", password="pw-123456",
        stdout=out,
    )  # fmt: skip
    user = get_user_model().objects.get(email="editor@example.com")
    assert user.check_password("pw-123456")
    assert PublisherStaff.objects.filter(user=user, publisher=publisher).count() == 1

    call_command("add_publisher_staff", "editor@example.com", publisher="acme-press", stdout=out)
    assert PublisherStaff.objects.filter(user=user).count() == 1
    assert get_user_model().objects.filter(email__iexact="editor@example.com").count() == 1
    user.refresh_from_db()
    assert user.check_password("pw-123456")


@pytest.mark.django_db
def test_add_publisher_staff_generates_a_password_for_new_accounts() -> None:
    Publisher.objects.create(slug="acme-press", name="Acme Press")
    out = StringIO()
    call_command("add_publisher_staff", "new@example.com", publisher="acme-press", stdout=out)
    match = re.search(r"Generated password \(shown once\): (\S+)", out.getvalue())
    assert match
    user = get_user_model().objects.get(email="new@example.com")
    assert user.check_password(match.group(1))
    assert PublisherStaff.objects.filter(user=user, publisher__slug="acme-press").exists()


@pytest.mark.django_db
def test_add_publisher_staff_unknown_publisher() -> None:
    Publisher.objects.create(slug="acme-press", name="Acme Press")
    with pytest.raises(CommandError, match="Unknown publisher 'nope'"):
        call_command("add_publisher_staff", "x@example.com", publisher="nope", stdout=StringIO())
    assert not get_user_model().objects.filter(email="x@example.com").exists()
