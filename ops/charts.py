"""Charts drawn on the server as SVG: no script, nothing from a CDN. Each chart is
shown beside a table of its numbers, so the SVG carries only a title for screen readers."""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 560, 220
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 64, 12, 14, 30
LEGEND_STEP = 92
COLOURS = ("#1d4ed8", "#b91c1c", "#15803d", "#a16207", "#7c3aed", "#0e7490", "#525252")


def _scale(lo: int, hi: int) -> tuple[int, int]:
    if lo == hi:
        return (min(lo, 0), max(hi, 0) + 1)
    return (min(lo, 0), max(hi, 0))


def _frame(title: str, lo: int, hi: int, labels: Sequence[str], body: list[str]) -> SafeString:
    inner_h = HEIGHT - PAD_TOP - PAD_BOTTOM

    def y(value: float) -> float:
        return PAD_TOP + inner_h * (hi - value) / (hi - lo)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        '<g font-family="system-ui, sans-serif" font-size="11" fill="#4b5563">',
    ]
    for value in (lo, (lo + hi) / 2, hi):
        parts.append(
            f'<line x1="{PAD_LEFT}" x2="{WIDTH - PAD_RIGHT}" y1="{y(value):.1f}" '
            f'y2="{y(value):.1f}" stroke="#e5e7eb"/>'
            f'<text x="{PAD_LEFT - 6}" y="{y(value) + 4:.1f}" text-anchor="end">'
            f"{int(value):,}</text>"
        )
    if labels:
        step = max(1, len(labels) // 6)
        inner_w = WIDTH - PAD_LEFT - PAD_RIGHT
        for i in range(0, len(labels), step):
            x = PAD_LEFT + inner_w * (i + 0.5) / len(labels)
            parts.append(
                f'<text x="{x:.1f}" y="{HEIGHT - 10}" text-anchor="middle">'
                f"{escape(labels[i])}</text>"
            )
    parts.append("</g>")
    parts.extend(body)
    parts.append("</svg>")
    return mark_safe("".join(parts))


def line_chart(
    title: str, labels: Sequence[str], series: Sequence[tuple[str, Sequence[int]]]
) -> SafeString:
    values = [v for _, points in series for v in points] or [0]
    lo, hi = _scale(min(values), max(values))
    inner_w = WIDTH - PAD_LEFT - PAD_RIGHT
    inner_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    body = []
    for index, (name, points) in enumerate(series):
        colour = COLOURS[index % len(COLOURS)]
        coords = " ".join(
            f"{PAD_LEFT + inner_w * (i + 0.5) / max(len(points), 1):.1f},"
            f"{PAD_TOP + inner_h * (hi - v) / (hi - lo):.1f}"
            for i, v in enumerate(points)
        )
        body.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{coords}">'
            f"<title>{escape(name)}</title></polyline>"
        )
        body.append(
            f'<text x="{PAD_LEFT + 8 + LEGEND_STEP * index}" y="{PAD_TOP + 10}" '
            f'fill="{colour}" font-family="system-ui, sans-serif" font-size="11">'
            f"{escape(name)}</text>"
        )
    return _frame(title, lo, hi, labels, body)


def bar_chart(title: str, bars: Sequence[tuple[str, int]]) -> SafeString:
    values = [v for _, v in bars] or [0]
    lo, hi = _scale(min(values), max(values))
    inner_w = WIDTH - PAD_LEFT - PAD_RIGHT
    inner_h = HEIGHT - PAD_TOP - PAD_BOTTOM

    def y(value: float) -> float:
        return PAD_TOP + inner_h * (hi - value) / (hi - lo)

    width = inner_w / max(len(bars), 1)
    body = []
    for i, (label, value) in enumerate(bars):
        top, bottom = sorted((y(value), y(0)))
        colour = COLOURS[1] if value < 0 else COLOURS[0]
        body.append(
            f'<rect x="{PAD_LEFT + i * width + width * 0.15:.1f}" y="{top:.1f}" '
            f'width="{width * 0.7:.1f}" height="{max(bottom - top, 0.5):.1f}" fill="{colour}">'
            f"<title>{escape(label)}: {value:,}</title></rect>"
        )
    return _frame(title, lo, hi, [label for label, _ in bars], body)


def hbar_chart(title: str, bars: Sequence[tuple[str, int]]) -> SafeString:
    """Horizontal bars, for long labels (one row each, the label on the left)."""
    row, left, right = 22, 170, 60
    height = PAD_TOP + row * len(bars) + 6
    top = max([v for _, v in bars] + [1])
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'width="{WIDTH}" height="{height}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        '<g font-family="system-ui, sans-serif" font-size="12" fill="#111827">',
    ]
    for i, (label, value) in enumerate(bars):
        y = PAD_TOP + i * row
        width = (WIDTH - left - right) * max(value, 0) / top
        parts.append(
            f'<text x="{left - 8}" y="{y + 14}" text-anchor="end">{escape(label)}</text>'
            f'<rect x="{left}" y="{y + 3}" width="{width:.1f}" height="{row - 6}" '
            f'fill="{COLOURS[0]}"><title>{escape(label)}: {value:,}</title></rect>'
            f'<text x="{left + width + 6:.1f}" y="{y + 14}">{value:,}</text>'
        )
    parts.append("</g></svg>")
    return mark_safe("".join(parts))
