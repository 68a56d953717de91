"""Charts drawn on the server as inline SVG: no script, nothing from a CDN. One helper for
the operations dashboard and the publisher portal.

Every chart is an `<svg class="chart" role="img">` with a `<title>` (and a `<desc>` when
given) for screen readers, and each bar or point carries its own number as a tooltip.
Pages show a table of the same numbers beside each chart: the chart is the picture, the
table the figures. A money axis on round steps reads "12", not "12.00" (the tooltips keep
the pence). Labels and names are escaped; no data draws a frame that says so.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 560, 220
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 64, 12, 26, 30
LEGEND_CHAR = 7  # about the width of one legend letter at font-size 11
COLOURS = ("#1d4ed8", "#b91c1c", "#15803d", "#a16207", "#7c3aed", "#0e7490", "#525252")
NEGATIVE = COLOURS[1]
NO_DATA = "No figures to chart in this period."
MAX_X_LABELS = 7
TICKS = 5  # at most about this many steps up the value axis, each a round number
MAX_MARKERS = 62  # points up to this many per series get a dot with its number
ZERO_FRACTION = ".00"  # money on a round tick: dropped from the value axis

LEGEND_GAP = 16  # between one legend entry and the next
LEGEND_ROW = 16  # the height of one legend row

Bars = Sequence[tuple[str, int]]
Series = Sequence[tuple[str, Sequence[int]]]
Format = Callable[[int], str]


def plain(value: int) -> str:
    """The default way to write a value: `1,200`."""
    return f"{value:,}"


def _open(title: str, description: str, width: int, height: int) -> list[str]:
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    if description:
        parts.append(f"<desc>{escape(description)}</desc>")
    return parts


def _empty(title: str, description: str, width: int) -> SafeString:
    height = 60
    parts = _open(title, description, width, height)
    parts.append(
        f'<text x="{width / 2:.0f}" y="{height / 2 + 4:.0f}" text-anchor="middle" '
        f'font-family="system-ui, sans-serif" font-size="12" fill="#4b5563">{NO_DATA}</text>'
        "</svg>"
    )
    return mark_safe("".join(parts))


def nice_step(span: int) -> int:
    """A round step (1, 2 or 5 times a power of ten, at least 1) that cuts `span` into
    about TICKS parts."""
    raw = max(span / TICKS, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    return next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)


def axis_labels(texts: list[str]) -> list[str]:
    """The value axis' labels: when every one ends in a zero fraction (money on round
    steps: "12.00"), without it ("12"); else as written, so the ticks stay alike. Only
    the axis: tooltips and tables keep the exact amounts."""
    if texts and all(t.endswith(ZERO_FRACTION) for t in texts):
        return [t.removesuffix(ZERO_FRACTION) for t in texts]
    return texts


class _Plot:
    """The value axis of a vertical chart: round numbers from at most min(values, 0) to
    at least max(values, 0), never flat."""

    def __init__(
        self, values: Sequence[int], width: int, *, fmt: Format = plain, top: int = PAD_TOP
    ) -> None:
        lo, hi = min([*values, 0]), max([*values, 0])
        self.step = nice_step(hi - lo)
        self.lo = math.floor(lo / self.step) * self.step
        self.hi = max(math.ceil(hi / self.step) * self.step, self.lo + self.step)
        self.fmt = fmt
        values = range(self.lo, self.hi + 1, self.step)
        self.ticks = list(zip(values, axis_labels([fmt(v) for v in values]), strict=True))
        # Wide enough for the longest number on the value axis (money is long).
        self.left = max(PAD_LEFT, 12 + LEGEND_CHAR * max(len(text) for _, text in self.ticks))
        self.top = top
        self.width = width
        self.inner_w = width - self.left - PAD_RIGHT
        self.inner_h = HEIGHT - top - PAD_BOTTOM

    def x(self, index: float, count: int) -> float:
        """The centre of slot `index` of `count` equal slots."""
        return self.left + self.inner_w * (index + 0.5) / max(count, 1)

    def y(self, value: float) -> float:
        return self.top + self.inner_h * (self.hi - value) / (self.hi - self.lo)

    def axes(self, labels: Sequence[str]) -> list[str]:
        parts = ['<g font-family="system-ui, sans-serif" font-size="11" fill="#4b5563">']
        for value, text in self.ticks:
            y = self.y(value)
            parts.append(
                f'<line x1="{self.left}" x2="{self.width - PAD_RIGHT}" y1="{y:.1f}" '
                f'y2="{y:.1f}" stroke="{"#9ca3af" if value == 0 else "#e5e7eb"}"/>'
                f'<text x="{self.left - 6}" y="{y + 4:.1f}" text-anchor="end">{escape(text)}</text>'
            )
        step = max(1, -(-len(labels) // MAX_X_LABELS))
        for i in range(0, len(labels), step):
            parts.append(
                f'<text x="{self.x(i, len(labels)):.1f}" y="{HEIGHT - 10}" '
                f'text-anchor="middle">{escape(labels[i])}</text>'
            )
        parts.append("</g>")
        return parts


WIDE, NARROW = frozenset("mwMW"), frozenset("fijlrtI .,:;'()|!")


def text_width(text: str) -> int:
    """A generous estimate of `text`'s width at font-size 11 in any sans-serif font: wide
    letters and capitals count more than LEGEND_CHAR, narrow ones less."""
    return math.ceil(
        sum(
            11 if c in WIDE else 5 if c in NARROW else 9 if c.isupper() else LEGEND_CHAR
            for c in text
        )
    )


def legend_layout(names: Sequence[str], width: int) -> list[tuple[int, int]]:
    """Where each legend entry starts (x, row): left to right from the plot's left edge,
    each entry as wide as its swatch and (generously estimated) name plus a gap, wrapping
    to a new row rather than running past the right edge."""
    places, x, row = [], PAD_LEFT, 0
    for name in names:
        entry = 14 + text_width(name)
        if x > PAD_LEFT and x + entry > width - PAD_RIGHT:
            x, row = PAD_LEFT, row + 1
        places.append((x, row))
        x += entry + LEGEND_GAP
    return places


def _legend(names: Sequence[str], width: int) -> list[str]:
    """A swatch and the name of each series, in rows above the plot."""
    parts = ['<g font-family="system-ui, sans-serif" font-size="11" fill="#111827">']
    for index, (name, (x, row)) in enumerate(zip(names, legend_layout(names, width), strict=True)):
        y = 6 + row * LEGEND_ROW
        parts.append(
            f'<rect x="{x}" y="{y}" width="10" height="10" fill="{COLOURS[index % len(COLOURS)]}"/>'
            f'<text x="{x + 14}" y="{y + 9}">{escape(name)}</text>'
        )
    parts.append("</g>")
    return parts


def line_chart(
    title: str,
    labels: Sequence[str],
    series: Series,
    *,
    description: str = "",
    width: int = WIDTH,
    fmt: Format = plain,
) -> SafeString:
    """One line per series over the labelled slots (days, weeks …), with a legend; each
    point's number (written by `fmt`, as on the value axis) is its tooltip (and a dot, for
    up to MAX_MARKERS points)."""
    values = [v for _, points in series for v in points]
    if not labels or not values:
        return _empty(title, description, width)
    names = [name for name, _ in series]
    rows = max(row for _, row in legend_layout(names, width)) + 1
    plot = _Plot(values, width, fmt=fmt, top=PAD_TOP + (rows - 1) * LEGEND_ROW)
    parts = _open(title, description, width, HEIGHT) + plot.axes(labels)
    for index, (name, points) in enumerate(series):
        colour = COLOURS[index % len(COLOURS)]
        coords = [(plot.x(i, len(labels)), plot.y(v)) for i, v in enumerate(points)]
        parts.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="'
            + " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
            + f'"><title>{escape(name)}</title></polyline>'
        )
        if len(points) <= MAX_MARKERS:
            parts.extend(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{colour}"><title>'
                f"{escape(name)}, {escape(label)}: {escape(fmt(value))}</title></circle>"
                for (x, y), label, value in zip(coords, labels, points, strict=False)
            )
    parts += _legend(names, width)
    parts.append("</svg>")
    return mark_safe("".join(parts))


def bar_chart(
    title: str, bars: Bars, *, description: str = "", width: int = WIDTH, fmt: Format = plain
) -> SafeString:
    """One vertical bar per label, from zero (negative values below it, in red); `fmt`
    writes the numbers on the value axis and in the tooltips."""
    if not bars:
        return _empty(title, description, width)
    plot = _Plot([v for _, v in bars], width, fmt=fmt)
    parts = _open(title, description, width, HEIGHT) + plot.axes([label for label, _ in bars])
    slot = plot.inner_w / len(bars)
    for i, (label, value) in enumerate(bars):
        top, bottom = sorted((plot.y(value), plot.y(0)))
        parts.append(
            f'<rect x="{plot.left + slot * (i + 0.15):.1f}" y="{top:.1f}" '
            f'width="{slot * 0.7:.1f}" height="{max(bottom - top, 0.5):.1f}" '
            f'fill="{NEGATIVE if value < 0 else COLOURS[0]}">'
            f"<title>{escape(label)}: {escape(fmt(value))}</title></rect>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))


def hbar_chart(title: str, bars: Bars, *, description: str = "", width: int = WIDTH) -> SafeString:
    """Horizontal bars for long labels: the label on the left, the number after the bar."""
    if not bars:
        return _empty(title, description, width)
    row, left, right, top = 22, 170, 60, 14
    height = top + row * len(bars) + 6
    longest = max([v for _, v in bars] + [1])
    parts = _open(title, description, width, height)
    parts.append('<g font-family="system-ui, sans-serif" font-size="12" fill="#111827">')
    for i, (label, value) in enumerate(bars):
        y = top + i * row
        length = (width - left - right) * max(value, 0) / longest
        parts.append(
            f'<text x="{left - 8}" y="{y + 14}" text-anchor="end">{escape(label)}</text>'
            f'<rect x="{left}" y="{y + 3}" width="{length:.1f}" height="{row - 6}" '
            f'fill="{COLOURS[0]}"><title>{escape(label)}: {value:,}</title></rect>'
            f'<text x="{left + length + 6:.1f}" y="{y + 14}">{value:,}</text>'
        )
    parts.append("</g></svg>")
    return mark_safe("".join(parts))
