"""Shapes of the publisher API (/api/v1/publisher/)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from rest_framework import serializers

from config.query import QuerySerializer
from subscriptions.vocabulary import AccessLevel, ArticleAccess

from .services import MAX_CAP, MAX_PREVIEW
from .stats import MAX_PERIOD_DAYS, BadPeriod, stats_period

SOURCES = ["title", "publisher", "site", "none"]


class RuleInputSerializer(serializers.Serializer[Any]):
    """A title's own values; null inherits from the publisher default, then the site."""

    access_level = serializers.ChoiceField(choices=AccessLevel.values, allow_null=True)
    free_articles_cap = serializers.IntegerField(allow_null=True, min_value=0, max_value=MAX_CAP)
    preview_paragraphs = serializers.IntegerField(
        allow_null=True, min_value=0, max_value=MAX_PREVIEW
    )
    note = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")


class RuleValuesSerializer(serializers.Serializer[Any]):
    access_level = serializers.ChoiceField(choices=AccessLevel.values)
    free_articles_cap = serializers.IntegerField(allow_null=True)
    preview_paragraphs = serializers.IntegerField()


class RuleSourcesSerializer(serializers.Serializer[Any]):
    access_level = serializers.ChoiceField(choices=SOURCES)
    free_articles_cap = serializers.ChoiceField(choices=SOURCES)
    preview_paragraphs = serializers.ChoiceField(choices=SOURCES)


class TitleRefSerializer(serializers.Serializer[Any]):
    slug = serializers.SlugField()
    name = serializers.CharField()


class RuleSerializer(serializers.Serializer[Any]):
    """The title's rule: its own values (null = inherited), what applies and from where."""

    publication = TitleRefSerializer()
    access_level = serializers.ChoiceField(choices=AccessLevel.values, allow_null=True)
    free_articles_cap = serializers.IntegerField(allow_null=True)
    preview_paragraphs = serializers.IntegerField(allow_null=True)
    version = serializers.IntegerField(allow_null=True, help_text="The live version's number")
    resolved = RuleValuesSerializer()
    sources = RuleSourcesSerializer()


class PublisherPublicationSerializer(serializers.Serializer[Any]):
    slug = serializers.SlugField()
    name = serializers.CharField()
    publisher = TitleRefSerializer()
    role = serializers.ChoiceField(choices=["admin", "editor"])
    rule = RuleSerializer()


class RuleVersionSerializer(serializers.Serializer[Any]):
    version = serializers.IntegerField()
    access_level = serializers.ChoiceField(choices=AccessLevel.values, allow_null=True)
    free_articles_cap = serializers.IntegerField(allow_null=True)
    preview_paragraphs = serializers.IntegerField(allow_null=True)
    note = serializers.CharField()
    by = serializers.EmailField(allow_null=True)
    at = serializers.DateTimeField()
    live = serializers.BooleanField()
    before = serializers.DictField()
    rolled_back_to = serializers.IntegerField(allow_null=True)


class RollbackSerializer(serializers.Serializer[Any]):
    version = serializers.IntegerField(min_value=1)
    note = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")


class SimulationOutcomeSerializer(serializers.Serializer[Any]):
    reads = serializers.IntegerField()
    granted = serializers.IntegerField()
    granted_by_reason = serializers.DictField(child=serializers.IntegerField())
    walls = serializers.DictField(child=serializers.IntegerField())
    walls_total = serializers.IntegerField()
    readers = serializers.IntegerField()
    readers_walled = serializers.IntegerField()
    trials_started = serializers.IntegerField()
    subscriptions_started = serializers.IntegerField()


class MeterWindowSerializer(serializers.Serializer[Any]):
    window = serializers.ChoiceField(choices=["month", "rolling"])
    rolling_days = serializers.IntegerField(allow_null=True)


class SimulationSerializer(serializers.Serializer[Any]):
    publication = TitleRefSerializer()
    since = serializers.DateTimeField()
    until = serializers.DateTimeField()
    live_rule = RuleValuesSerializer()
    proposed_rule = RuleValuesSerializer()
    live = SimulationOutcomeSerializer()
    proposed = SimulationOutcomeSerializer()
    meter_window = MeterWindowSerializer()


class ArticleAccessInputSerializer(serializers.Serializer[Any]):
    access_level = serializers.ChoiceField(choices=ArticleAccess.values)


class ArticleAccessSerializer(serializers.Serializer[Any]):
    slug = serializers.SlugField()
    publication = TitleRefSerializer()
    access_level = serializers.ChoiceField(
        choices=ArticleAccess.values, help_text="The article's own setting"
    )
    resolved_level = serializers.ChoiceField(
        choices=AccessLevel.values, help_text="What applies to readers now"
    )


class StatsQuerySerializer(QuerySerializer):
    """The stats period, each bound given at most once: `to` defaults to today, `from` to
    29 days before `to`; the rules hold for the period so made, whichever were given."""

    # `from` is a keyword: declared through the class namespace.
    locals()["from"] = serializers.DateField(required=False)
    to = serializers.DateField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        try:
            first, last = stats_period(
                first=attrs.get("from"), last=attrs.get("to"), today=timezone.now().date()
            )
        except BadPeriod as bad:
            message = (
                "`from` must not be after `to`."
                if bad.reversed
                else f"The period is at most {MAX_PERIOD_DAYS} days."
            )
            raise serializers.ValidationError(message, code="bad_period") from None
        return {"from": first, "to": last}


class ConvertingArticleSerializer(serializers.Serializer[Any]):
    slug = serializers.CharField()
    title = serializers.CharField()
    trials = serializers.IntegerField(help_text="Trials started from its wall")
    subscriptions = serializers.IntegerField(help_text="Paid subscriptions started from its wall")
    conversions = serializers.IntegerField(help_text="trials + subscriptions")


class TitleStatsSerializer(serializers.Serializer[Any]):
    publication = TitleRefSerializer()
    reads = serializers.IntegerField(help_text="Reads granted")
    walls = serializers.DictField(child=serializers.IntegerField(), help_text="By reason")
    trials_started = serializers.IntegerField()
    subscriptions_started = serializers.IntegerField()
    revenue_share = serializers.IntegerField(help_text="Minor units, from issued statements")
    currency = serializers.CharField()
    top_articles_by_conversions = ConvertingArticleSerializer(
        many=True,
        help_text="At most 10 articles whose walls started the most trials and subscriptions "
        "in the period (an addition to the contract's fields)",
    )


class StatsSerializer(serializers.Serializer[Any]):
    locals()["from"] = serializers.DateField()
    to = serializers.DateField()
    results = TitleStatsSerializer(many=True)


class ErrorSerializer(serializers.Serializer[Any]):
    detail = serializers.CharField()
    code = serializers.CharField()
