"""A daily chart as inline SVG, drawn on the server: no JavaScript, nothing from a CDN."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

WIDTH, HEIGHT, PAD = 720, 220, 36
SERIES = (("reads", "Reads", "#1f6feb"), ("walls", "Walls", "#d1242f"))


def daily_chart(days: Sequence[Any]) -> SafeString:
    """Reads and walls per day as two polylines, with a title and description for
    screen readers (the numbers table below the chart carries the same data)."""
    if not days:
        return SafeString("")
    top = max([max(d.reads, d.walls) for d in days] + [1])
    step = (WIDTH - 2 * PAD) / max(len(days) - 1, 1)

    def y(value: int) -> float:
        return HEIGHT - PAD - (HEIGHT - 2 * PAD) * value / top

    lines = format_html_join(
        "",
        '<polyline fill="none" stroke="{}" stroke-width="2" points="{}">'
        "<title>{}</title></polyline>",
        (
            (
                colour,
                " ".join(
                    f"{PAD + i * step:.1f},{y(getattr(d, name)):.1f}" for i, d in enumerate(days)
                ),
                label,
            )
            for name, label, colour in SERIES
        ),
    )
    legend = format_html_join(
        "",
        '<rect x="{}" y="8" width="12" height="12" fill="{}"/>'
        '<text x="{}" y="19" font-size="12">{}</text>',
        (
            (PAD + i * 90, colour, PAD + i * 90 + 16, label)
            for i, (_, label, colour) in enumerate(SERIES)
        ),
    )
    return format_html(
        '<svg class="chart" role="img" aria-labelledby="chart-title chart-desc" '
        'viewBox="0 0 {w} {h}" width="100%" preserveAspectRatio="xMidYMid meet">'
        '<title id="chart-title">Reads and walls per day</title>'
        '<desc id="chart-desc">From {first} to {last}; highest day {top}. '
        "The table below lists every day.</desc>"
        '<line x1="{p}" y1="{base}" x2="{right}" y2="{base}" stroke="#888"/>'
        '<line x1="{p}" y1="{p}" x2="{p}" y2="{base}" stroke="#888"/>'
        '<text x="4" y="{ytop}" font-size="11">{top}</text>'
        '<text x="4" y="{base}" font-size="11">0</text>'
        '<text x="{p}" y="{label_y}" font-size="11">{first}</text>'
        '<text x="{right}" y="{label_y}" font-size="11" text-anchor="end">{last}</text>'
        "{legend}{lines}</svg>",
        w=WIDTH,
        h=HEIGHT,
        p=PAD,
        base=HEIGHT - PAD,
        right=WIDTH - PAD,
        ytop=PAD + 4,
        label_y=HEIGHT - PAD + 16,
        top=top,
        first=days[0].day,
        last=days[-1].day,
        legend=legend,
        lines=lines,
    )
