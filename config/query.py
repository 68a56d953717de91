"""Query parameters are given once: `?page_size=5&page_size=50` is a 400, not a guess."""

from __future__ import annotations

from typing import Any

from django.http import QueryDict
from rest_framework import serializers
from rest_framework.exceptions import ValidationError


def single_query_value(query: QueryDict, name: str) -> str | None:
    values = query.getlist(name)
    if len(values) > 1:
        raise ValidationError({name: ["Give this parameter once."]}, code="repeated")
    return values[0] if values else None


class QuerySerializer(serializers.Serializer[Any]):
    """Validates a view's query parameters; each of its fields may be given once."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, QueryDict):
            names: list[str] = list(self.fields)
            for name in names:
                single_query_value(data, name)
        return super().to_internal_value(data)
