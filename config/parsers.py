"""JSON in, bounded: deep nesting is bad input (400), never a RecursionError (500); and
text the database cannot hold is bad input too, never a DataError (500)."""

from __future__ import annotations

import json
import re
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


# What PostgreSQL's text and jsonb refuse (a DataError): NUL, and an unpaired surrogate
# (no UTF-8 for it; SQLite's driver refuses it too). Text from a URL or a form cannot hold
# a surrogate (Django decodes it with replacement); JSON can, as an escape.
_UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")
# Their JSON escapes: how either can appear in a JSON document (raw, NUL is not JSON and
# a surrogate is not UTF-8). A hit may be an escaped backslash; then the walk finds nothing.
_UNSTORABLE_ESCAPE = re.compile(r"\\u(?:0000|[dD][89a-fA-F])")


def storable_text(text: str) -> bool:
    """Whether the database can hold this text (or be asked about it): no NUL, no
    unpaired surrogate. Anything else from outside would be a 500 on PostgreSQL."""
    return _UNSTORABLE.search(text) is None


def json_storable(text: str | bytes, value: Any) -> bool:
    """Whether every string of `value` (keys too), parsed from the JSON `text`, is
    `storable_text`. The value is walked only when the text holds such an escape."""
    raw = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    if _UNSTORABLE_ESCAPE.search(raw) is None:
        return True
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if not storable_text(item):
                return False
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return True


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON.")


def json_loads_bounded(text: str | bytes, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """`json.loads` that raises ValueError (JSONTooDeep) for nesting past `max_depth`,
    where the parser itself would raise RecursionError. The parsed value is walked only
    when the text has more opening brackets than `max_depth` (a value cannot nest deeper
    than that): small documents skip the walk. Strict, as DRF's parser: NaN and
    Infinity, which Python's parser takes, are a ValueError."""
    try:
        value = json.loads(text, parse_constant=_not_json)
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
