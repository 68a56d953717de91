"""The read API's shapes, exactly as ../shared/API.md fixes them."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from subscriptions import paywall

from .models import Article, Publication, Publisher, Topic


class PublisherRefSerializer(serializers.ModelSerializer[Publisher]):
    class Meta:
        model = Publisher
        fields = ["slug", "name"]


class PublicationRefSerializer(serializers.ModelSerializer[Publication]):
    class Meta:
        model = Publication
        fields = ["slug", "name"]


class TopicSerializer(serializers.ModelSerializer[Topic]):
    class Meta:
        model = Topic
        fields = ["slug", "name"]


class PublicationSerializer(serializers.ModelSerializer[Publication]):
    publisher = PublisherRefSerializer(read_only=True)
    access_level = serializers.SerializerMethodField()
    free_articles_cap = serializers.SerializerMethodField()

    class Meta:
        model = Publication
        fields = [
            "slug",
            "name",
            "description",
            "publisher",
            "access_level",
            "free_articles_cap",
            "brand_colour",
        ]

    @extend_schema_field(serializers.ChoiceField(["free", "metered", "registered", "premium"]))
    def get_access_level(self, obj: Publication) -> str:
        return paywall.publication_level(obj)

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_free_articles_cap(self, obj: Publication) -> int | None:
        return paywall.publication_cap(obj)


class ArticleSummarySerializer(serializers.ModelSerializer[Article]):
    publication = PublicationRefSerializer(read_only=True)
    topics = TopicSerializer(many=True, read_only=True)
    access_level = serializers.SerializerMethodField()

    class Meta:
        model = Article
        fields = [
            "slug",
            "title",
            "standfirst",
            "author",
            "published_at",
            "topics",
            "publication",
            "access_level",
        ]

    @extend_schema_field(serializers.ChoiceField(["free", "metered", "registered", "premium"]))
    def get_access_level(self, obj: Article) -> str:
        return paywall.resolved_level(obj)


class MeterSerializer(serializers.Serializer[Any]):
    limit = serializers.IntegerField()
    used = serializers.IntegerField()
    remaining = serializers.IntegerField()


class AccessSerializer(serializers.Serializer[Any]):
    granted = serializers.BooleanField()
    reason = serializers.CharField()
    level = serializers.CharField()
    meter = MeterSerializer(allow_null=True)


class ArticleDetailSerializer(serializers.Serializer[Any]):
    """Built from a decided article: see articles.api.ArticleDetailView. Field values
    come from `article_payload()`, which alone decides what text is included."""

    slug = serializers.CharField()
    title = serializers.CharField()
    standfirst = serializers.CharField()
    author = serializers.CharField()
    published_at = serializers.DateTimeField()
    topics = TopicSerializer(many=True)
    publication = PublicationRefSerializer()
    access = AccessSerializer()
    body_html = serializers.CharField(allow_null=True)
    preview_html = serializers.CharField()
    related = ArticleSummarySerializer(many=True)
