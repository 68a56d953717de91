"""Cutting an article body into its preview. Works on the sanitised HTML's top-level
paragraphs, so the preview is always a prefix of whole blocks."""

from __future__ import annotations

import re

_BLOCK = re.compile(
    r"<(p|h2|h3|h4|blockquote|ul|ol|figure|pre)\b[^>]*>.*?</\1>", re.DOTALL | re.IGNORECASE
)


def body_blocks(body_html: str) -> list[str]:
    return [m.group(0) for m in _BLOCK.finditer(body_html)]


def preview_html(body_html: str, paragraphs: int) -> str:
    """The first `paragraphs` blocks of the body; nothing after them."""
    if paragraphs <= 0:
        return ""
    return "\n".join(body_blocks(body_html)[:paragraphs])
