"""The publisher API (/api/v1/publisher/): thin views over publishers' selectors and
services. Staff of a publisher see and change only that publisher's titles and articles;
anyone else gets 404 (401 without credentials)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from articles.models import Article, Publication
from config.exceptions import ApplicationError
from subscriptions import paywall
from subscriptions.services import read_rollup

from . import selectors, services, simulator, stats
from .serializers import (
    ArticleAccessInputSerializer,
    ArticleAccessSerializer,
    ErrorSerializer,
    PublisherPublicationSerializer,
    RollbackSerializer,
    RuleInputSerializer,
    RuleSerializer,
    RuleVersionSerializer,
    SimulationSerializer,
    StatsQuerySerializer,
    StatsSerializer,
)

NOT_FOUND = OpenApiResponse(
    ErrorSerializer,
    description="Not one of the caller's titles/articles, or the caller is not publisher staff",
    examples=[OpenApiExample("not found", {"detail": "Not found.", "code": "not_found"})],
)
UNAUTHENTICATED = OpenApiResponse(
    ErrorSerializer,
    description="No or dead credentials (`WWW-Authenticate: Token`)",
    examples=[
        OpenApiExample(
            "anonymous",
            {
                "detail": "Authentication credentials were not provided.",
                "code": "not_authenticated",
            },
        )
    ],
)
BAD_RULE = OpenApiResponse(
    ErrorSerializer,
    description="A value is out of range or unknown; nothing changed",
    examples=[
        OpenApiExample(
            "bad level",
            {"detail": 'access_level: "paid" is not a valid choice.', "code": "invalid_choice"},
        )
    ],
)
PREPARING = OpenApiResponse(
    ErrorSerializer,
    description=(
        "The title's last 30 days of reads are being prepared for the simulator (after an "
        "article's level or the meter limit changed); nothing changed. Try again after "
        "`Retry-After` seconds."
    ),
    examples=[
        OpenApiExample(
            "preparing",
            {
                "detail": "The simulator is preparing this title's last 30 days; "
                "try again in a minute.",
                "code": "simulation_preparing",
            },
        )
    ],
)
RETRY_AFTER = OpenApiParameter(
    "Retry-After",
    int,
    location=OpenApiParameter.HEADER,
    response=[503],
    description="Seconds to wait before asking again.",
)
ADMIN_ONLY = OpenApiResponse(
    ErrorSerializer,
    description="Editors cannot change rules",
    examples=[
        OpenApiExample(
            "editor",
            {
                "detail": "Only the publisher's admins can change rules and staff.",
                "code": "admin_only",
            },
        )
    ],
)
COMMON = {401: UNAUTHENTICATED, 404: NOT_FOUND}
RULE_EXAMPLE = OpenApiExample(
    "premium title",
    {
        "access_level": "premium",
        "free_articles_cap": None,
        "preview_paragraphs": 2,
        "note": "Investigations go subscribers-only",
    },
    request_only=True,
)


def not_found() -> ApplicationError:
    return ApplicationError("Not found.", code="not_found", status_code=404)


class PublisherAPIView(APIView):
    permission_classes = [IsAuthenticated]

    def title(self, slug: str) -> tuple[Publication, str]:
        found = selectors.staff_publication(user=self.request.user, slug=slug)
        if found is None:
            raise not_found()
        return found

    def article(self, slug: str) -> tuple[Article, str]:
        found = selectors.staff_article(user=self.request.user, slug=slug)
        if found is None:
            raise not_found()
        return found


class PublicationsView(PublisherAPIView):
    @extend_schema(
        operation_id="publisher_publications",
        responses={200: PublisherPublicationSerializer(many=True), **COMMON},
        description="The caller's titles (of every publisher they are staff of) with rules.",
    )
    def get(self, request: Request) -> Response:
        members = selectors.memberships(user=request.user)
        if not members:
            raise not_found()
        roles = {m.publisher_id: m.role for m in members}
        titles = list(selectors.staff_publications(user=request.user))
        return Response(
            [
                {
                    "slug": p.slug,
                    "name": p.name,
                    "publisher": {"slug": p.publisher.slug, "name": p.publisher.name},
                    "role": roles[p.publisher_id],
                    "rule": selectors.rule_summary(publication=p),
                }
                for p in titles
            ]
        )


class RuleView(PublisherAPIView):
    @extend_schema(operation_id="publisher_rule", responses={200: RuleSerializer, **COMMON})
    def get(self, request: Request, slug: str) -> Response:
        publication, _ = self.title(slug)
        return Response(selectors.rule_summary(publication=publication))

    @extend_schema(
        operation_id="publisher_rule_publish",
        request=RuleInputSerializer,
        examples=[RULE_EXAMPLE],
        responses={200: RuleSerializer, 400: BAD_RULE, 403: ADMIN_ONLY, **COMMON},
        description="Publish the title's rule at once as a new version (null inherits).",
    )
    def put(self, request: Request, slug: str) -> Response:
        publication, role = self.title(slug)
        body = RuleInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        services.rule_publish(
            actor=request.user,
            role=role,
            publisher=publication.publisher,
            publication=publication,
            access_level=data["access_level"],
            free_articles_cap=data["free_articles_cap"],
            preview_paragraphs=data["preview_paragraphs"],
            note=data["note"],
        )
        return Response(selectors.rule_summary(publication=publication))


class SimulateView(PublisherAPIView):
    @extend_schema(
        operation_id="publisher_rule_simulate",
        request=RuleInputSerializer,
        examples=[RULE_EXAMPLE],
        parameters=[RETRY_AFTER],
        responses={200: SimulationSerializer, 400: BAD_RULE, 503: PREPARING, **COMMON},
        description=(
            "Replay the title's last 30 days of reads under the proposed rule and under the "
            "live one. Changes nothing. A large title whose reads must first be prepared "
            "again (an article's level changed) answers 503 `simulation_preparing` with "
            "`Retry-After` while the worker prepares them. The meter is modelled over the "
            "site's window (`meter_window`: the calendar month, or rolling days)."
        ),
    )
    def post(self, request: Request, slug: str) -> Response:
        publication, _ = self.title(slug)
        body = RuleInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            result = simulation(publication=publication, own=dict(body.validated_data))
        except read_rollup.RollupPreparing as preparing:
            return Response(
                {"detail": preparing.message, "code": preparing.code},
                status=preparing.status_code,
                headers={"Retry-After": str(preparing.retry_after)},
            )
        return Response(result)


def simulation(*, publication: Publication, own: dict[str, Any]) -> dict[str, Any]:
    """Proposed own values against the live rule, both replayed the same way. Raises
    `read_rollup.RollupPreparing` (the rebuild queued) for a stale large title."""
    now = timezone.now()
    live_values = selectors.resolve_values(
        publication=publication, own=selectors.resolved_rule(publication=publication).own
    )
    proposed_values = selectors.resolve_values(publication=publication, own=own)
    outcomes = {}
    for name, values in (("live", live_values), ("proposed", proposed_values)):
        rule = simulator.SimRule(
            level=values["access_level"],
            free_articles_cap=values["free_articles_cap"],
            preview_paragraphs=values["preview_paragraphs"],
        )
        outcomes[name] = simulator.simulate(publication_id=publication.pk, rule=rule, now=now)
    since, until = simulator.period(now)
    return {
        "publication": {"slug": publication.slug, "name": publication.name},
        "since": since,
        "until": until,
        "live_rule": live_values,
        "proposed_rule": proposed_values,
        "live": outcomes["live"].as_dict(),
        "proposed": outcomes["proposed"].as_dict(),
        "meter_window": simulator.meter_window(),
    }


class VersionsView(PublisherAPIView):
    @extend_schema(
        operation_id="publisher_rule_versions",
        responses={200: RuleVersionSerializer(many=True), **COMMON},
    )
    def get(self, request: Request, slug: str) -> Response:
        publication, _ = self.title(slug)
        return Response(
            selectors.version_rows(publisher=publication.publisher, publication=publication)
        )


class RollbackView(PublisherAPIView):
    @extend_schema(
        operation_id="publisher_rule_rollback",
        request=RollbackSerializer,
        examples=[
            OpenApiExample("undo", {"version": 3, "note": "Back to metered"}, request_only=True)
        ],
        responses={
            200: RuleSerializer,
            400: BAD_RULE,
            403: ADMIN_ONLY,
            **COMMON,
        },
        description="Publish a new version equal to `version`; 404 when there is no such one.",
    )
    def post(self, request: Request, slug: str) -> Response:
        publication, role = self.title(slug)
        body = RollbackSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.rule_rollback(
            actor=request.user,
            role=role,
            publisher=publication.publisher,
            publication=publication,
            number=body.validated_data["version"],
            note=body.validated_data["note"],
        )
        return Response(selectors.rule_summary(publication=publication))


class ArticleAccessView(PublisherAPIView):
    @extend_schema(
        operation_id="publisher_article_access",
        request=ArticleAccessInputSerializer,
        examples=[OpenApiExample("premium", {"access_level": "premium"}, request_only=True)],
        responses={200: ArticleAccessSerializer, 400: BAD_RULE, **COMMON},
        description='Override the article\'s level, or "inherit" to follow its title.',
    )
    def patch(self, request: Request, slug: str) -> Response:
        article, _ = self.article(slug)
        body = ArticleAccessInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.article_override_set(
            actor=request.user,
            publisher=article.publication.publisher,
            article_ids=[article.pk],
            access_level=body.validated_data["access_level"],
        )
        article.refresh_from_db(fields=["access_level"])
        return Response(
            {
                "slug": article.slug,
                "publication": {"slug": article.publication.slug, "name": article.publication.name},
                "access_level": article.access_level,
                "resolved_level": paywall.resolved_level(article),
            }
        )


class StatsView(PublisherAPIView):
    @extend_schema(
        operation_id="publisher_stats",
        parameters=[
            OpenApiParameter("from", str, description="First day, YYYY-MM-DD (30 days ago)"),
            OpenApiParameter("to", str, description="Last day, YYYY-MM-DD (today)"),
        ],
        responses={200: StatsSerializer, 400: BAD_RULE, **COMMON},
        description="Per title: reads granted, walls by reason, attributed trials and "
        "subscriptions, revenue share from issued statements.",
    )
    def get(self, request: Request) -> Response:
        if not selectors.memberships(user=request.user):
            raise not_found()
        query = StatsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        since, until = query.validated_data["from"], query.validated_data["to"]
        titles = list(selectors.staff_publications(user=request.user))
        rows = stats.title_stats(publications=titles, since=since, until=until)
        return Response({"from": since, "to": until, "results": [r.as_dict() for r in rows]})
