"""Two publishers, each with a title and articles, an admin, an editor, and a reader:
every isolation test runs against both."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from rest_framework.test import APIClient

from articles.models import Article, Publication, Publisher, PublisherStaff
from tests.factories import ArticleFactory, PublicationFactory, PublisherFactory, UserFactory


@dataclass
class Side:
    publisher: Publisher
    title: Publication
    articles: list[Article]
    admin: object
    editor: object


def make_side(name: str) -> Side:
    publisher = PublisherFactory(name=f"{name} Press", slug=f"{name.lower()}-press")
    title = PublicationFactory(
        publisher=publisher, name=f"{name} Times", slug=f"{name.lower()}-times"
    )
    articles = [
        ArticleFactory(
            publication=title, slug=f"{name.lower()}-story-{i}", title=f"{name} story {i}"
        )
        for i in range(3)
    ]
    admin = UserFactory(email=f"admin@{name.lower()}.example")
    editor = UserFactory(email=f"editor@{name.lower()}.example")
    PublisherStaff.objects.create(user=admin, publisher=publisher, role="admin")
    PublisherStaff.objects.create(user=editor, publisher=publisher, role="editor")
    return Side(publisher, title, articles, admin, editor)


@pytest.fixture
def side_a() -> Side:
    return make_side("Alpha")


@pytest.fixture
def side_b() -> Side:
    return make_side("Beta")


@pytest.fixture
def reader():
    return UserFactory(email="reader@example.com")


def api_as(user) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client
