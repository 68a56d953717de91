"""The reader read API (/api/v1/): thin views over selectors and the reading seam."""

from __future__ import annotations

from django.utils.cache import patch_cache_control, patch_vary_headers
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.exceptions import ApplicationError
from config.query import QuerySerializer

from . import selectors
from .models import Article
from .reading import read_article
from .serializers import ArticleDetailSerializer, ArticleSummarySerializer, PublicationSerializer

MAX_QUERY_LENGTH = 200


class PublicationListView(generics.ListAPIView):
    serializer_class = PublicationSerializer

    def get_queryset(self):
        return selectors.publications_list()


class ArticleFilterSerializer(QuerySerializer):
    publication = serializers.SlugField(
        required=False, allow_blank=True, max_length=80, help_text="A title's slug"
    )
    topic = serializers.SlugField(
        required=False, allow_blank=True, max_length=80, help_text="A topic's slug"
    )
    q = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=MAX_QUERY_LENGTH,
        trim_whitespace=True,
        help_text="Words in the title, standfirst or byline",
    )


@extend_schema(parameters=[ArticleFilterSerializer])
class ArticleListView(generics.ListAPIView):
    serializer_class = ArticleSummarySerializer

    def get_queryset(self):
        filters = ArticleFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        return selectors.article_list(**filters.validated_data)


class TopStoriesView(APIView):
    @extend_schema(responses=ArticleSummarySerializer(many=True))
    def get(self, request: Request) -> Response:
        articles = selectors.top_stories()
        return Response(ArticleSummarySerializer(articles, many=True).data)


class PicksView(APIView):
    @extend_schema(responses=ArticleSummarySerializer(many=True))
    def get(self, request: Request) -> Response:
        articles = selectors.editorial_picks()
        return Response(ArticleSummarySerializer(articles, many=True).data)


class ArticleDetailView(APIView):
    """Reading an article through the API spends the meter, exactly like the page."""

    @extend_schema(responses=ArticleDetailSerializer)
    def get(self, request: Request, slug: str) -> Response:
        try:
            read = read_article(request=request, slug=slug, channel="api")
        except Article.DoesNotExist:
            raise ApplicationError(
                "No article with that slug.", code="not_found", status_code=404
            ) from None
        response = Response(read.payload())  # shaped by ArticleRead.payload()
        # Every answer depends on who asks (the meter, the wall): never share it.
        patch_cache_control(response, private=True, no_store=True)
        patch_vary_headers(response, ["Cookie", "Authorization"])
        return response
