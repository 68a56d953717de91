"""The nesting bound of json_loads_bounded, with and without the bracket count's shortcut."""

from __future__ import annotations

import json

import pytest

from config.parsers import (
    MAX_JSON_DEPTH,
    JSONTooDeep,
    json_loads_bounded,
    json_storable,
    storable_text,
)


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("as_bytes", [False, True])
def test_nesting_up_to_the_bound_parses_and_one_more_level_is_refused(as_bytes: bool) -> None:
    def load(text: str) -> object:
        return json_loads_bounded(text.encode() if as_bytes else text)

    assert load(nested(MAX_JSON_DEPTH)) == json.loads(nested(MAX_JSON_DEPTH))
    with pytest.raises(JSONTooDeep):
        load(nested(MAX_JSON_DEPTH + 1))
    with pytest.raises(JSONTooDeep):
        load(nested(5000))  # past the parser's own recursion limit


def test_many_brackets_shallow_parses_and_deep_among_many_is_refused() -> None:
    wide = json.dumps({"items": [{"id": i, "note": "[{["} for i in range(100)]})
    assert len(json_loads_bounded(wide)["items"]) == 100  # walked: 300+ brackets, depth 3
    deep_in_wide = json.dumps({"items": [[] for _ in range(100)], "x": 0}).replace(
        '"x": 0', '"x": ' + nested(MAX_JSON_DEPTH)
    )
    with pytest.raises(JSONTooDeep):
        json_loads_bounded(deep_in_wide)


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_constants_python_takes_but_json_has_not_are_refused(constant: str) -> None:
    with pytest.raises(ValueError, match="is not JSON"):
        json_loads_bounded(f'{{"amount": {constant}}}')


@pytest.mark.parametrize(
    ("text", "storable"),
    [
        (r'{"a": "plain"}', True),
        (r'{"a": "\\u0000 is an escaped backslash"}', True),
        (r'{"a": "\ud83d\ude00 a pair"}', True),
        (r'{"a": "\u0000"}', False),
        (r'{"a\u0000": 1}', False),
        (r'{"a": ["\udc00"]}', False),
        (r'{"a": [{"b": "\uD8FF"}]}', False),
    ],
)
def test_json_storable_finds_nul_and_unpaired_surrogates_anywhere(
    text: str, storable: bool
) -> None:
    assert json_storable(text, json_loads_bounded(text)) is storable
    assert storable_text(json.dumps(json_loads_bounded(text))) is True  # escaped again: fine
