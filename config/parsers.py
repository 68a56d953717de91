"""JSON in, bounded: deep nesting is bad input (400), never a RecursionError (500)."""

from __future__ import annotations

import json
from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError

# Far deeper than any body we accept (API requests and Stripe events nest < 10 levels).
MAX_JSON_DEPTH = 64


class JSONTooDeep(ValueError):
    pass


def json_depth(value: Any) -> int:
    """Nesting depth of a parsed JSON value, without recursion."""
    depth, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            depth = max(depth, level)
            stack.extend((child, level + 1) for child in item)
    return depth


def _check_depth(value: Any, max_depth: int) -> Any:
    if json_depth(value) > max_depth:
        raise JSONTooDeep(f"JSON nested deeper than {max_depth} levels.")
    return value


def json_loads_bounded(text: str | bytes, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """`json.loads` that raises ValueError (JSONTooDeep) for nesting past `max_depth`,
    where the parser itself would raise RecursionError. The parsed value is walked only
    when the text has more opening brackets than `max_depth` (a value cannot nest deeper
    than that): small documents skip the walk."""
    try:
        value = json.loads(text)
    except RecursionError as exc:
        raise JSONTooDeep("JSON nested too deeply.") from exc
    if isinstance(text, bytes):
        brackets = text.count(b"{") + text.count(b"[")
    else:
        brackets = text.count("{") + text.count("[")
    return value if brackets <= max_depth else _check_depth(value, max_depth)


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser (strict, any encoding) with the nesting bound: 400 `parse_error`."""

    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        try:
            return _check_depth(super().parse(stream, media_type, parser_context), MAX_JSON_DEPTH)
        except (RecursionError, JSONTooDeep) as exc:
            raise ParseError("JSON parse error - nested too deeply.") from exc
