"""Page-number pagination that answers 404 {detail, code} for a page that is not a
positive integer or lies past the end (DRF's own behaviour, made explicit here)."""

from rest_framework import pagination


class PageNumberPagination(pagination.PageNumberPagination):
    page_size = 20
    max_page_size = 100
    page_size_query_param = "page_size"
