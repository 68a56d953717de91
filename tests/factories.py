"""factory_boy factories for the whole suite."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeVar

import factory
from django.db import models
from django.utils import timezone

from accounts.models import User
from articles.models import Article, EditorialPick, Publication, Publisher, Topic
from subscriptions.models import Plan

M = TypeVar("M", bound=models.Model)


class ModelFactory(factory.django.DjangoModelFactory[M]):
    """A Django factory whose call is typed: `UserFactory()` is a `User` to mypy too.

    factory_boy makes the instance in its metaclass's untyped `__call__`, so mypy would
    take `UserFactory()` for a `UserFactory`. The typing-only `__new__` below tells it the
    truth; `UserFactory.create()`, `.build()` and `.create_batch()` are typed by factory_boy
    itself through the generic parameter.
    """

    class Meta:
        abstract = True

    if TYPE_CHECKING:
        # mypy flags a __new__ that returns another class's instance, and then uses it.
        def __new__(cls, **kwargs: Any) -> M: ...  # type: ignore[misc]


class UserFactory(ModelFactory[User]):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"reader{n}@example.com")
    password = factory.django.Password("correct horse battery staple")


class PublisherFactory(ModelFactory[Publisher]):
    class Meta:
        model = Publisher

    name = factory.Sequence(lambda n: f"Publisher {n}")
    slug = factory.Sequence(lambda n: f"publisher-{n}")


class PublicationFactory(ModelFactory[Publication]):
    class Meta:
        model = Publication

    publisher = factory.SubFactory(PublisherFactory)
    name = factory.Sequence(lambda n: f"The Daily {n}")
    slug = factory.Sequence(lambda n: f"the-daily-{n}")
    description = "Independent reporting from everywhere."


class TopicFactory(ModelFactory[Topic]):
    class Meta:
        model = Topic
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Topic {n}")
    slug = factory.Sequence(lambda n: f"topic-{n}")


def set_topics(
    article: Article, create: bool, extracted: Iterable[Topic] | None, **kwargs: Any
) -> None:
    """ArticleFactory(topics=[...]) sets the article's topics once it is saved."""
    if create and extracted:
        article.topics.set(extracted)


class ArticleFactory(ModelFactory[Article]):
    class Meta:
        model = Article
        skip_postgeneration_save = True

    publication = factory.SubFactory(PublicationFactory)
    slug = factory.Sequence(lambda n: f"story-{n}")
    title = factory.Sequence(lambda n: f"Story number {n}")
    standfirst = "A short summary of the story."
    author = "Alex Writer"
    body = "<p>First paragraph.</p><p>Second paragraph.</p><p>Third paragraph.</p>"
    published_at = factory.LazyFunction(lambda: timezone.now() - timedelta(hours=1))
    news_value = 50

    topics = factory.PostGeneration(set_topics)


class EditorialPickFactory(ModelFactory[EditorialPick]):
    class Meta:
        model = EditorialPick

    article = factory.SubFactory(ArticleFactory)
    position = factory.Sequence(int)
    starts_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=1))
    ends_at = None


class PlanFactory(ModelFactory[Plan]):
    class Meta:
        model = Plan
        django_get_or_create = ("code",)

    code = "monthly"
    name = "Monthly"
    interval = "month"
    amount = 999
    currency = "gbp"
    stripe_price_id = factory.LazyAttribute(lambda o: f"price_{o.code}")
