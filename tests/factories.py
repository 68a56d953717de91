"""factory_boy factories for the whole suite."""

from __future__ import annotations

from datetime import timedelta

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from articles.models import Article, EditorialPick, Publication, Publisher, Topic
from subscriptions.models import Plan


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()

    email = factory.Sequence(lambda n: f"reader{n}@example.com")
    password = factory.django.Password("correct horse battery staple")


class PublisherFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Publisher

    name = factory.Sequence(lambda n: f"Publisher {n}")
    slug = factory.Sequence(lambda n: f"publisher-{n}")


class PublicationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Publication

    publisher = factory.SubFactory(PublisherFactory)
    name = factory.Sequence(lambda n: f"The Daily {n}")
    slug = factory.Sequence(lambda n: f"the-daily-{n}")
    description = "Independent reporting from everywhere."


class TopicFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Topic
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Topic {n}")
    slug = factory.Sequence(lambda n: f"topic-{n}")


class ArticleFactory(factory.django.DjangoModelFactory):
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

    @factory.post_generation
    def topics(self, create, extracted, **kwargs):  # type: ignore[no-untyped-def]
        if create and extracted:
            self.topics.set(extracted)


class EditorialPickFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EditorialPick

    article = factory.SubFactory(ArticleFactory)
    position = factory.Sequence(int)
    starts_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=1))
    ends_at = None


class PlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Plan
        django_get_or_create = ("code",)

    code = "monthly"
    name = "Monthly"
    interval = "month"
    amount = 999
    currency = "gbp"
    stripe_price_id = factory.LazyAttribute(lambda o: f"price_{o.code}")
