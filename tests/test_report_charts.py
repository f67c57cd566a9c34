"""Charts: laid out inside the picture with small even margins, opaque RGB, the same bytes
for the same data, and drawn once per process for the same inputs."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image

from pipeline.report import charts

LONG = [
    "Champions",
    "A rather long segment name",
    "Can't Lose Them",
    "Hibernating",
    "Needs attention soon",
    "Lost",
    "New Customers",
    "Promising",
]


@pytest.fixture(autouse=True)
def style():
    charts.configure(["DejaVu Sans"])
    charts._MEMO.clear()
    yield
    charts._MEMO.clear()


def pixels(uri: str) -> np.ndarray:
    head, data = uri.split(",", 1)
    assert head == "data:image/png;base64"
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(data))))


def margins(px: np.ndarray) -> tuple[int, int, int, int]:
    """Blank pixels between the ink and the top, bottom, left and right edges."""
    ink = (px < 245).any(axis=2)
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    height, width = ink.shape
    return rows[0], height - 1 - rows[-1], cols[0], width - 1 - cols[-1]


CHARTS = {
    "rotated categories": lambda: charts.grouped_bars(
        LONG,
        {"This branch": np.linspace(0.05, 0.95, 8), "Network": np.linspace(0.9, 0.1, 8)},
        title="Product penetration",
        xlabel="Product",
        ylabel="Share of customers (%)",
    ),
    "long names on the y axis": lambda: charts.horizontal_bars(
        LONG,
        [12_345, 9_876, 5_432, 2_100, 1_500, 800, 120, 7],
        title="Customers by RFM segment",
        xlabel="Customers (count)",
        ylabel="Segment",
    ),
    "log histogram": lambda: charts.histogram(
        np.random.default_rng(1).gamma(1.5, 800.0, 3000),
        log_x=True,
        half=True,
        title="CLV distribution",
        xlabel="CLV (CNY, log)",
        ylabel="Customers (count)",
    ),
    "scatter with labels": lambda: charts.ipa_scatter(
        ["Assurance", "Digital service", "Empathy", "Reliability", "Responsiveness"],
        [0.58, 0.62, 0.60, 0.67, 0.67],
        [3.93, 3.78, 3.35, 4.0, 3.31],
        title="Importance-performance analysis: Customer survey",
        xlabel="Importance",
        ylabel="Performance (mean score)",
    ),
}


@pytest.mark.parametrize("name", list(CHARTS))
def test_everything_is_inside_the_picture_with_a_small_margin(name):
    px = pixels(CHARTS[name]())
    assert px.ndim == 3 and px.shape[2] == 3  # RGB: opaque, no alpha channel to split off
    top, bottom, left, right = margins(px)
    # nothing touches an edge (a clipped label would) and no side wastes space: the
    # outermost text or axis line sits about PAD_PX from each edge (ink starts a pixel or
    # two inside a glyph's box; an axis line is drawn across its end point)
    for side, blank in (("top", top), ("bottom", bottom), ("left", left), ("right", right)):
        assert charts.PAD_PX - 2 <= blank <= 3 * charts.PAD_PX, (name, side, blank)


def test_same_data_same_bytes():
    first = CHARTS["rotated categories"]()
    charts._MEMO.clear()
    assert CHARTS["rotated categories"]() == first


def test_a_chart_is_drawn_once_per_process_for_the_same_inputs(monkeypatch):
    drawn = []
    encode = charts._encode

    def counting(fig, ax, *hover):
        drawn.append(ax.get_title(loc="left"))
        return encode(fig, ax, *hover)

    monkeypatch.setattr(charts, "_encode", counting)
    monkeypatch.setattr(charts, "MEMO_SIZE", 3)

    def bars(values, title="T"):
        return charts.grouped_bars(
            ["a", "b"], {"x": values}, title=title, xlabel="X", ylabel="Y (%)"
        )

    one = bars([0.1, 0.2])
    assert bars([0.1, 0.2]) is one and len(drawn) == 1
    assert bars(np.array([0.1, 0.2])) == one and len(drawn) == 2  # another key, same picture
    assert bars([0.1, 0.3]) != one and bars([0.1, 0.2], title="U") != one
    assert len(drawn) == 4
    charts.configure(["DejaVu Sans", "DejaVu Serif"])  # another font: drawn again
    bars([0.1, 0.2])
    assert len(drawn) == 5
    for i in range(charts.MEMO_SIZE + 1):
        bars([0.0, i / 100], title="fill")
    assert len(charts._MEMO) == charts.MEMO_SIZE  # bounded: the oldest are forgotten


def overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def test_the_legend_never_covers_a_bar_and_every_bar_shows_its_value_on_hover():
    # bars reach the top in every corner: a legend inside the plot would cover one
    chart = charts.grouped_bars(
        ["mass", "affluent", "wealth", "private"],
        {"Share of customers": [0.99, 0.95, 0.97, 0.98], "Share of AUM": [0.98, 0.99, 0.96, 1.0]},
        title="Customers and AUM by tier",
        xlabel="Tier",
        ylabel="Share (%)",
    )
    width, height = Image.open(io.BytesIO(base64.b64decode(chart.split(",", 1)[1]))).size
    assert chart.legend is not None
    bars = [
        (
            a.left * width / 100,
            a.top * height / 100,
            (a.left + a.width) * width / 100,
            (a.top + a.height) * height / 100,
        )
        for a in chart.areas
    ]
    assert len(bars) == 8 and not any(overlap(chart.legend, bar) for bar in bars)
    assert chart.areas[0].text == "mass · Share of customers: 99.0%"
    assert chart.areas[7].text == "private · Share of AUM: 100.0%"
    assert all(0 <= a.left and a.left + a.width <= 100 for a in chart.areas)


def test_hover_values_are_written_as_the_reports_locale_writes_numbers():
    charts.configure(["DejaVu Sans"], "de_DE")
    bars = charts.grouped_bars(
        ["B01", "B02"], {"AUM": [1234.5, 0.5]}, title="t", xlabel="x", ylabel="y", percent=False
    )
    assert [a.text for a in bars.areas] == ["B01: 1.234", "B02: 0"]
    shares = charts.grouped_bars(
        ["B01"], {"a": [0.125], "b": [0.5]}, title="t", xlabel="x", ylabel="y"
    )
    assert [a.text for a in shares.areas] == ["B01 · a: 12,5\xa0%", "B01 · b: 50,0\xa0%"]
    nps = charts.intervals(["B01"], [-0.04], [-21.25], [5.4], title="t", xlabel="x", ylabel="y")
    assert [a.text for a in nps.areas] == ["B01: 0,0 (-21,2 – 5,4)"]  # never "-0,0"


def test_a_probability_is_drawn_from_0_to_1_even_when_everyone_has_the_same():
    # Berka: P(alive) is 1.0 for every customer; the axis ran from 0.5 to 1.5
    chart = charts.histogram(
        [1.0] * 50, bins=20, bounds=(0.0, 1.0), title="t", xlabel="P(alive)", ylabel="n"
    )
    assert [a.text for a in chart.areas] == ["0.95 – 1.00: 50"]


def test_lines_and_points_show_their_values_on_hover():
    chart = charts.lorenz(
        {"Branch B01": ([0.0, 0.5, 1.0], [0.0, 0.1, 1.0])},
        title="AUM Lorenz curve",
        xlabel="Customers (%)",
        ylabel="AUM (%)",
        equality_label="Equal",
    )
    assert [a.text for a in chart.areas] == [
        "Branch B01: 0% → 0.0%",
        "Branch B01: 50% → 10.0%",
        "Branch B01: 100% → 100.0%",
    ]
