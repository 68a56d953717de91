"""The preview: the body's first whole top-level blocks, cut by parsing the HTML (a regex
cut nested lists at the inner `</ul>` and skipped tables)."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from articles.content import body_blocks, preview_html
from articles.services import sanitise_body

NESTED_LIST = (
    "<ul><li>Outer one<ul><li>Inner one</li><li>Inner two</li></ul></li><li>Outer two</li></ul>"
)
TABLE = (
    "<table><caption>Results</caption><thead><tr><th>Party</th><th>Seats</th></tr></thead>"
    "<tbody><tr><td>Blue</td><td>310</td></tr><tr><td>Red &amp; Green</td><td>12</td></tr>"
    "</tbody></table>"
)
FIGURE = (
    '<figure><img src="https://images.example/a.jpg" alt="A harbour">'
    "<figcaption>The harbour at dawn <em>(file)</em></figcaption></figure>"
)
QUOTE = "<blockquote><p>First quoted.</p><p>Second quoted.</p></blockquote>"
ENTITIES = "<p>Fish &amp; chips &lt;3 &quot;quoted&quot; caf&#233; &#x2014; &nbsp;ok</p>"
SECRET = "<p>SECRET-LAST-PARAGRAPH</p>"
BODY = "\n".join([NESTED_LIST, TABLE, FIGURE, QUOTE, ENTITIES, "<hr>", SECRET])


class _Balance(HTMLParser):
    VOID = {"img", "br", "hr"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.ok = True

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack.pop() != tag:
            self.ok = False


def _balanced(html: str) -> bool:
    parser = _Balance()
    parser.feed(html)
    parser.close()
    return parser.ok and not parser.stack


def test_blocks_are_whole_top_level_elements() -> None:
    assert body_blocks(BODY) == [NESTED_LIST, TABLE, FIGURE, QUOTE, ENTITIES, "<hr>", SECRET]


@pytest.mark.parametrize("count", range(7))
def test_every_preview_is_balanced_markup_and_a_prefix_of_whole_blocks(count: int) -> None:
    preview = preview_html(BODY, count)
    assert _balanced(preview)
    assert preview == "\n".join([NESTED_LIST, TABLE, FIGURE, QUOTE, ENTITIES, "<hr>"][:count])
    assert "SECRET-LAST-PARAGRAPH" not in preview


def test_a_nested_list_is_one_block() -> None:
    assert preview_html(NESTED_LIST + SECRET, 1) == NESTED_LIST


def test_entities_are_kept_as_written() -> None:
    assert preview_html(ENTITIES + SECRET, 1) == ENTITIES


def test_text_and_inline_markup_outside_blocks_are_never_previewed() -> None:
    body = "stray <strong>text</strong><p>One.</p>more stray<p>Two.</p>" + SECRET
    assert preview_html(body, 2) == "<p>One.</p>\n<p>Two.</p>"


def test_unclosed_or_stray_tags_never_let_later_blocks_in() -> None:
    # Not what the sanitiser stores, but the cut must still stop at the count.
    body = "<p>One.</p></div><p>Two <em>unclosed</p><p>SECRET-LAST-PARAGRAPH</p>"
    preview = preview_html(body, 1)
    assert preview == "<p>One.</p>"
    assert "SECRET" not in preview_html(body, 2)


def test_sanitised_bodies_preview_the_same_way() -> None:
    clean = sanitise_body(BODY)
    assert preview_html(clean, 3).count("<figure>") == 1
    assert "SECRET-LAST-PARAGRAPH" not in preview_html(clean, 6)


def test_zero_or_negative_paragraphs_is_empty() -> None:
    assert preview_html(BODY, 0) == ""
    assert preview_html(BODY, -1) == ""
