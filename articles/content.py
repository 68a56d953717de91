"""Cutting an article body into its preview: the body's first whole top-level blocks,
found by parsing the (sanitised) HTML, so nested lists, tables and figures stay whole and
the preview is always a prefix of complete blocks, exactly as written."""

from __future__ import annotations

import re
from html.parser import HTMLParser

BLOCK_TAGS = frozenset(
    {"p", "h2", "h3", "h4", "blockquote", "ul", "ol", "figure", "pre", "table", "hr"}
)
_NEWLINE = re.compile("\n")
VOID_TAGS = frozenset({"area", "br", "col", "embed", "hr", "img", "input", "source", "wbr"})


class _Enough(Exception):
    """The limit is reached: stop parsing the rest of the body."""


class _BlockCutter(HTMLParser):
    """Records the source span of every top-level block element. Text and inline markup
    outside blocks are skipped; a block still open when the input ends is left out."""

    def __init__(self, html: str, limit: int | None) -> None:
        super().__init__(convert_charrefs=True)
        self.html = html
        self.limit = limit
        self.blocks: list[str] = []
        self._line_starts = [0, *(m.end() for m in _NEWLINE.finditer(html))]
        self._stack: list[str] = []
        self._block_start: int | None = None

    def _offset(self) -> int:
        line, column = self.getpos()
        return self._line_starts[line - 1] + column

    def _add(self, start: int, end_tag_at: int) -> None:
        self.blocks.append(self.html[start : self.html.index(">", end_tag_at) + 1])
        if self.limit is not None and len(self.blocks) >= self.limit:
            raise _Enough

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        start = self._offset()
        if not self._stack:
            if tag not in BLOCK_TAGS:
                return  # inline markup at top level: never part of the preview
            if tag in VOID_TAGS:
                self._add(start, start)
                return
            self._block_start = start
        if tag not in VOID_TAGS:
            self._stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if not self._stack and tag in BLOCK_TAGS and tag in VOID_TAGS:
            start = self._offset()
            self._add(start, start)

    def handle_endtag(self, tag: str) -> None:
        if tag not in self._stack:
            return  # a stray end tag closes nothing
        while self._stack.pop() != tag:
            pass
        if not self._stack and self._block_start is not None:
            start, self._block_start = self._block_start, None
            self._add(start, self._offset())


def body_blocks(body_html: str, limit: int | None = None) -> list[str]:
    """The top-level blocks of the body, each exactly as written (at most `limit`)."""
    cutter = _BlockCutter(body_html, limit)
    try:
        cutter.feed(body_html)
        cutter.close()
    except _Enough:
        pass
    return cutter.blocks


def preview_html(body_html: str, paragraphs: int) -> str:
    """The first `paragraphs` blocks of the body; nothing after them."""
    if paragraphs <= 0:
        return ""
    return "\n".join(body_blocks(body_html, paragraphs))
