"""The one SVG chart helper of the ops dashboard and the publisher portal."""

from __future__ import annotations

import re
from xml.etree import ElementTree

import pytest

from config import charts

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = '<script>alert("x")</script> & "quotes"'


def parse(svg: str) -> ElementTree.Element:
    """Well-formed XML (a stray `<` or `&` from a label would fail here)."""
    return ElementTree.fromstring(svg)


def child(node: ElementTree.Element, path: str) -> ElementTree.Element:
    found = node.find(path)
    assert found is not None, path
    return found


def attr(node: ElementTree.Element, name: str) -> str:
    value = node.get(name)
    assert value is not None, name
    return value


def tooltips(root: ElementTree.Element) -> list[str]:
    return [t.text or "" for t in root.iter(f"{SVG}title")]


def test_a_line_chart_draws_each_series_with_its_numbers():
    svg = charts.line_chart(
        "Reads and walls per day",
        ["1 Nov", "2 Nov", "3 Nov"],
        [("Reads", [29, 1200, 0]), ("Walls", [13, 7, 2])],
        description="From 1 Nov to 3 Nov.",
    )
    root = parse(svg)
    assert root.get("role") == "img"
    assert root.get("aria-label") == "Reads and walls per day"
    assert child(root, f"{SVG}desc").text == "From 1 Nov to 3 Nov."
    lines = root.findall(f"{SVG}polyline")
    assert [len(attr(line, "points").split()) for line in lines] == [3, 3]
    assert lines[0].get("stroke") != lines[1].get("stroke")
    assert "Reads, 2 Nov: 1,200" in tooltips(root)
    assert "Walls, 3 Nov: 2" in tooltips(root)
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert {"Reads", "Walls", "1 Nov", "3 Nov", "0", "1,500"} <= set(texts)


def test_the_highest_point_is_at_the_top_and_zero_at_the_bottom():
    root = parse(charts.line_chart("t", ["a", "b"], [("s", [0, 10])]))
    points = attr(child(root, f"{SVG}polyline"), "points").split()
    (_, y_zero), (_, y_top) = (map(float, p.split(",")) for p in points)
    assert y_top == charts.PAD_TOP
    assert y_zero == charts.HEIGHT - charts.PAD_BOTTOM


def test_bars_show_their_numbers_and_negative_ones_go_below_zero_in_red():
    root = parse(charts.bar_chart("MRR movements", [("New", 500), ("Churned", -250)]))
    new, churned = root.findall(f"{SVG}rect")
    assert child(new, f"{SVG}title").text == "New: 500"
    assert child(churned, f"{SVG}title").text == "Churned: -250"
    assert churned.get("fill") == charts.NEGATIVE != new.get("fill")
    zero = float(attr(new, "y")) + float(attr(new, "height"))
    assert float(attr(churned, "y")) == pytest.approx(zero, abs=0.1)


def test_horizontal_bars_write_each_number_beside_its_bar():
    root = parse(charts.hbar_chart("Subscribers by state", [("Active", 1490), ("Canceled", 0)]))
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert texts == ["Active", "1,490", "Canceled", "0"]
    active, canceled = root.findall(f"{SVG}g/{SVG}rect")
    assert float(attr(active, "width")) > 0 == float(attr(canceled, "width"))


@pytest.mark.parametrize(
    "draw",
    [
        lambda label: charts.line_chart(label, [label], [(label, [1])], description=label),
        lambda label: charts.bar_chart(label, [(label, 1)], description=label),
        lambda label: charts.hbar_chart(label, [(label, 1)], description=label),
    ],
)
def test_titles_labels_and_names_are_escaped(draw):
    svg = str(draw(HOSTILE))
    assert "<script>" not in svg
    root = parse(svg)  # well-formed: every < and & was escaped
    assert root.get("aria-label") == HOSTILE
    assert HOSTILE in tooltips(root)[0]


@pytest.mark.parametrize(
    "svg",
    [
        charts.line_chart("Reads per day", [], []),
        charts.line_chart("Reads per day", ["1 Nov"], [("Reads", [])]),
        charts.bar_chart("Trials converted", []),
        charts.hbar_chart("Subscribers by state", []),
    ],
)
def test_no_data_draws_a_frame_that_says_so(svg):
    root = parse(svg)
    assert root.get("aria-label")
    assert [t.text for t in root.iter(f"{SVG}text")] == [charts.NO_DATA]
    assert not root.findall(f"{SVG}polyline") and not root.findall(f"{SVG}rect")


def test_flat_data_still_has_a_scale():
    root = parse(charts.line_chart("t", ["a", "b"], [("s", [0, 0])]))
    points = attr(child(root, f"{SVG}polyline"), "points")
    assert "nan" not in points and "inf" not in points


def test_long_series_keep_the_axis_readable():
    labels = [f"d{i}" for i in range(180)]
    root = parse(charts.line_chart("t", labels, [("s", list(range(180)))]))
    axis_labels = [t.text for t in root.iter(f"{SVG}text") if (t.text or "").startswith("d")]
    assert 2 <= len(axis_labels) <= charts.MAX_X_LABELS
    assert not root.findall(f"{SVG}circle")  # too many points for a dot each
    assert re.search(r'viewBox="0 0 560 220"', charts.line_chart("t", labels, [("s", [1])]))


def axis_values(root: ElementTree.Element) -> list[str]:
    return [t.text or "" for t in root.iter(f"{SVG}text") if t.get("text-anchor") == "end"]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([0, 43], ["0", "10", "20", "30", "40", "50"]),
        ([79212, 166500, -24975], ["-50,000", "0", "50,000", "100,000", "150,000", "200,000"]),
        ([0, 0], ["0", "1"]),
        ([3, 9], ["0", "2", "4", "6", "8", "10"]),
    ],
)
def test_the_value_axis_is_labelled_in_round_numbers_from_zero(values, expected):
    bars = [(str(i), v) for i, v in enumerate(values)]
    assert (
        sorted(
            axis_values(parse(charts.bar_chart("t", bars))), key=lambda v: int(v.replace(",", ""))
        )
        == expected
    )


def test_every_legend_name_fits_in_the_chart():
    names = ["Trialing", "Active", "Past due", "Complimentary", "Canceled"]
    root = parse(charts.line_chart("t", ["a"], [(name, [1]) for name in names]))
    legend = [t for t in root.iter(f"{SVG}text") if t.text in names]
    assert [t.text for t in legend] == names
    last = legend[-1]
    assert last.text is not None
    assert float(attr(last, "x")) + charts.LEGEND_CHAR * len(last.text) <= charts.WIDTH


def test_a_format_writes_the_axis_and_the_tooltips_and_widens_the_left_margin():
    def pounds(value: int) -> str:
        return f"{value / 100:,.2f}"

    root = parse(
        charts.line_chart("MRR (GBP)", ["1 Nov", "2 Nov"], [("MRR", [582000, 612345])], fmt=pounds)
    )
    assert "MRR, 2 Nov: 6,123.45" in tooltips(root)
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "8,000" in texts and "0" in texts
    # The longest axis label fits left of the plot.
    start = float(attr(child(root, f"{SVG}polyline"), "points").split()[0].split(",")[0])
    axis = next(t for t in root.iter(f"{SVG}text") if t.text == "8,000")
    assert float(attr(axis, "x")) - charts.LEGEND_CHAR * len("8,000") >= 0
    assert start > float(attr(axis, "x"))
    bars = parse(charts.bar_chart("t", [("New", 1250)], fmt=pounds))
    assert "New: 12.50" in tooltips(bars)


def _axis(root) -> list[str]:
    """The value axis' labels: the texts right-aligned against the plot."""
    return [t.text for t in root.iter(f"{SVG}text") if t.get("text-anchor") == "end"]


def test_round_money_ticks_drop_their_zero_pence_but_tooltips_keep_them():
    def pounds(value: int) -> str:
        return f"{value / 100:,.2f}"

    bars = parse(charts.bar_chart("MRR (GBP)", [("New", 1200), ("Lost", -450)], fmt=pounds))
    assert _axis(bars) == ["-5", "0", "5", "10", "15"]
    assert {"New: 12.00", "Lost: -4.50"} <= set(tooltips(bars))


def test_ticks_keep_their_pence_when_one_of_them_is_not_round():
    def pounds(value: int) -> str:
        return f"{value / 100:,.2f}"

    bars = parse(charts.bar_chart("t", [("New", 150)], fmt=pounds))
    assert _axis(bars) == ["0.00", "0.50", "1.00", "1.50"]


def test_text_width_is_generous_for_wide_letters():
    # "Complimentary" renders about 85 px wide at 11 px in DejaVu Sans: at least that.
    assert charts.text_width("Complimentary") >= 90
    assert charts.text_width("mmmm") > charts.text_width("iiii")


@pytest.mark.parametrize("width", [300, 420, 560])
def test_legend_entries_never_overlap_and_wrap_rather_than_run_off(width):
    names = ["Trialing", "Active", "Past due", "Complimentary", "Canceled"]
    places = charts.legend_layout(names, width)
    for name, (x, row), (next_x, next_row) in zip(names, places, places[1:], strict=False):
        if next_row == row:  # the next entry starts after this one's name and a gap
            assert next_x >= x + 14 + charts.text_width(name) + charts.LEGEND_GAP
    for name, (x, _) in zip(names, places, strict=True):
        assert x + 14 + charts.text_width(name) <= width
    root = parse(charts.line_chart("t", ["a"], [(name, [1]) for name in names], width=width))
    rows = {row for _, row in places}
    legend_y = {attr(t, "y") for t in root.iter(f"{SVG}text") if t.text in names}
    assert len(legend_y) == len(rows)
    # The plot starts below the last legend row.
    top = float(attr(child(root, f"{SVG}polyline"), "points").split(",")[1])
    assert top >= 6 + max(rows) * charts.LEGEND_ROW + 10
