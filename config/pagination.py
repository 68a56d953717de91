"""Page-number pagination, strict about its query: `page` that is not a positive integer
or lies past the end is 404 {detail, code} (DRF's own behaviour, made explicit here);
`page_size` outside 1..100, not an integer, or either parameter given twice is 400."""

from typing import Any

from rest_framework import pagination
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

from .query import single_query_value


class PageNumberPagination(pagination.PageNumberPagination):
    page_size = 20
    max_page_size = 100
    page_size_query_param = "page_size"
    last_page_strings = ()

    def get_page_number(self, request: Request, paginator: Any) -> Any:
        return single_query_value(request.query_params, self.page_query_param) or 1

    def get_page_size(self, request: Request) -> int:
        raw = single_query_value(request.query_params, self.page_size_query_param)
        if raw is None:
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            size = 0
        if not 1 <= size <= self.max_page_size:
            raise ValidationError(
                {
                    self.page_size_query_param: [
                        f"Give a whole number from 1 to {self.max_page_size}."
                    ]
                }
            )
        return size

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters: list[dict[str, Any]] = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["schema"]["minimum"] = 1
            elif parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(minimum=1, maximum=self.max_page_size)
        return parameters
