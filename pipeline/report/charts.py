"""Report charts: matplotlib (Agg), PNG at a fixed dpi, inlined as base64 data URIs.

PNG, not SVG: dense scatter plots in inline SVG made WeasyPrint about three times
slower. Every chart has a title, labelled axes and the unit in the axis label. The
PNG carries no metadata, so the same data gives the same bytes.

Speed (a report has nine charts, drawn for every branch): figures are built with the
object API (no pyplot state), laid out in one pass (`_fit`: the axes' tight box is
measured once and the margins set from it, where constrained layout measures twice
per draw), titles sit at a fixed height (no automatic title placement), and the
image is written as RGB (an opaque chart needs no alpha channel, which WeasyPrint
would otherwise split into a separate soft mask) at a fast zlib level.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import io
import logging
import pickle
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator, NullFormatter
from PIL import Image

from pipeline.report import formats

DPI = 120
WIDTH_IN = 6.4
HEIGHT_IN = 3.0
HALF = (3.3, 3.0)  # a chart printed beside another, at half the page width
PALETTE = ("#1f4e79", "#c55a11", "#548235", "#7f6000", "#7030a0", "#2e75b6")
HIGHLIGHT = "#c00000"
PAD_PX = 6  # white space kept around the chart's outermost text, in pixels
MAX_MARGIN = 0.6  # at most this share of a chart's width or height goes to its margins
PNG_COMPRESS_LEVEL = 1  # WeasyPrint recompresses the pixels anyway; level 1 is fastest


HOT_PX = 8  # a line or scatter point's hover square, in pixels


@dataclass(frozen=True)
class Area:
    """A region of a chart to hover over for a value: a box in percent of the picture
    (left, top, width, height, from its top-left corner) and the text to show."""

    left: float
    top: float
    width: float
    height: float
    text: str


class Chart(str):
    """A chart's PNG data URI, carrying the regions that show a value on hover and the
    box of its legend (pixels, x0 y0 x1 y1 from the top-left; None without a legend)."""

    areas: tuple[Area, ...] = ()
    legend: tuple[float, float, float, float] | None = None


Hover = Callable[[object], list[tuple[tuple[float, float, float, float], str]]]

MEMO_SIZE = 64  # charts remembered per process (a chart's URI is ~20 kB)
_MEMO: OrderedDict[bytes, str] = OrderedDict()
# the locale of the numbers charts print (bar values, axis ticks we format), set by configure
_LOCALE = {"name": "en"}


def memoised(chart: Callable[..., str]) -> Callable[..., str]:
    """Draw a chart once per process for the same inputs and style, then reuse its URI.

    Some charts are the same in many reports (a survey's importance-performance grid
    falls back to the network's for every branch too small to have its own; the
    network report shows it too). The key is a digest of the chart's name, its
    arguments and the font settings, so only identical inputs share a picture.
    """

    @functools.wraps(chart)
    def draw(*args: object, **kwargs: object) -> str:
        fonts = (
            tuple(matplotlib.rcParams["font.family"]),
            matplotlib.rcParams["axes.titleweight"],
            _LOCALE["name"],
        )
        key = hashlib.sha256(
            pickle.dumps((chart.__name__, fonts, args, sorted(kwargs.items())), protocol=5)
        ).digest()
        if key in _MEMO:
            _MEMO.move_to_end(key)
            return _MEMO[key]
        uri = _MEMO[key] = chart(*args, **kwargs)
        if len(_MEMO) > MEMO_SIZE:
            _MEMO.popitem(last=False)
        return uri

    return draw


def configure(families: list[str], locale: str = "en") -> None:
    """Set the fonts, the numbers' locale and the style once per process (the CJK font
    first for zh_CN)."""
    _LOCALE["name"] = locale
    # a bold title with Chinese in it (a branch's name in an English report) takes the
    # CJK fallback font's regular face, which it ships alone: matplotlib logs that each
    # time; it is expected, not news
    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
    matplotlib.rcParams.update(
        {
            "font.family": families,
            "font.size": 9,
            "axes.titlesize": 10.5,
            # CJK fonts such as WenQuanYi Micro Hei ship no bold face
            "axes.titleweight": "bold" if families[0] == "DejaVu Sans" else "normal",
            # a fixed title height: no top ticks or labels here to make room for
            "axes.titley": 1.0,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.grid": True,
            "grid.color": "#dddddd",
            "grid.linewidth": 0.6,
            "axes.axisbelow": True,
            "axes.unicode_minus": False,
            "figure.facecolor": "white",
            "savefig.facecolor": "white",
        }
    )


def _number(value: float, digits: int = 0) -> str:
    """A number as the report's locale writes it (formats.py)."""
    return formats.number(float(value), digits, _LOCALE["name"])


def _number_ticks() -> FuncFormatter:
    """Tick labels as whole numbers in the report's locale."""
    return FuncFormatter(lambda v, _: _number(v))


def _percent(value: float, digits: int = 0) -> str:
    """A value already in 0-100 as a percentage the report's locale writes."""
    return formats.percent(float(value) / 100, digits, _LOCALE["name"])


def _percent_ticks() -> FuncFormatter:
    """Tick labels of values already in 0-100 as percentages in the report's locale."""
    return FuncFormatter(lambda v, _: _percent(v))


def _figure(size: tuple[float, float]) -> tuple[Figure, Axes]:
    """A figure of `size` inches at the charts' dpi with one axes, on an Agg canvas."""
    fig = Figure(figsize=size, dpi=DPI)
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot()


def _axes(height: float = HEIGHT_IN) -> tuple[Figure, Axes]:
    return _figure((WIDTH_IN, height))


def _fit(fig: Figure, ax: Axes) -> None:
    """Margins that just hold the axes' tick labels, axis labels, legend and title.

    Like tight_layout for one axes, in one measurement (constrained layout measures
    twice per draw): how far everything the axes draws sticks out of it, in pixels,
    becomes the margin on that side, plus PAD_PX. The title is left-aligned at the axes'
    left edge, so it sets the top margin only. Margins never take more than MAX_MARGIN
    of the figure (the plot keeps the rest).
    """
    renderer = fig.canvas.get_renderer()
    title = ax.title
    title.set_visible(False)
    box = ax.get_tightbbox(renderer)
    title.set_visible(True)
    top_edge = max(box.y1, title.get_window_extent(renderer).y1)
    axes_box = ax.get_window_extent(renderer)
    width, height = fig.bbox.width, fig.bbox.height
    left, right = _within(
        max(axes_box.x0 - box.x0, 0.0) + PAD_PX, max(box.x1 - axes_box.x1, 0.0) + PAD_PX, width
    )
    bottom, top = _within(
        max(axes_box.y0 - box.y0, 0.0) + PAD_PX, max(top_edge - axes_box.y1, 0.0) + PAD_PX, height
    )
    fig.subplots_adjust(
        left=left / width, right=1 - right / width, bottom=bottom / height, top=1 - top / height
    )


def _within(low: float, high: float, size: float) -> tuple[float, float]:
    """Two margins scaled down together if they would take more than MAX_MARGIN of size."""
    scale = min(1.0, MAX_MARGIN * size / (low + high))
    return low * scale, high * scale


def _encode(fig: Figure, ax: Axes, hover: Hover | None = None) -> Chart:
    """Lay out, draw and return the chart as an RGB PNG data URI (no metadata), with
    the hover regions `hover(renderer)` gives as display boxes (x0, y0, x1, y1 from the
    bottom-left, pixels) and texts."""
    _fit(fig, ax)
    canvas = fig.canvas
    canvas.draw()
    rgba = np.asarray(canvas.buffer_rgba())
    image = Image.fromarray(np.ascontiguousarray(rgba[..., :3]))
    buf = io.BytesIO()
    image.save(buf, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
    chart = Chart("data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii"))
    width, height = fig.bbox.width, fig.bbox.height
    renderer = canvas.get_renderer()
    chart.areas = tuple(
        Area(
            round(100 * x0 / width, 2),
            round(100 * (height - y1) / height, 2),
            round(100 * (x1 - x0) / width, 2),
            round(100 * (y1 - y0) / height, 2),
            text,
        )
        for (x0, y0, x1, y1), text in (hover(renderer) if hover else [])
    )
    legend = ax.get_legend()
    if legend is not None:
        box = legend.get_window_extent(renderer)
        chart.legend = (box.x0, height - box.y1, box.x1, height - box.y0)
    return chart


def _box(artist, renderer) -> tuple[float, float, float, float]:
    b = artist.get_window_extent(renderer)
    return b.x0, b.y0, b.x1, b.y1


def _points(ax: Axes, xs: Sequence[float], ys: Sequence[float]) -> list[tuple[float, ...]]:
    """Hover squares of HOT_PX around data points, in display pixels."""
    out = []
    for x, y in ax.transData.transform(np.column_stack([xs, ys])):
        out.append((x - HOT_PX / 2, y - HOT_PX / 2, x + HOT_PX / 2, y + HOT_PX / 2))
    return out


def _category_ticks(ax: Axes, x: np.ndarray, categories: Sequence[str]) -> None:
    """Category names under their bars: level for a few, slanted for more, upright and
    small for many (fifty branches' ids stay legible side by side)."""
    labels = [str(c) for c in categories]
    if len(labels) <= 6:
        ax.set_xticks(x, labels)
    elif len(labels) <= 16:
        ax.set_xticks(x, labels, rotation=30, ha="right", rotation_mode="anchor")
    else:
        ax.set_xticks(x, labels, rotation=90, fontsize=7)
        ax.set_xlim(x[0] - 0.7, x[-1] + 0.7)


def _label(ax: Axes, title: str, xlabel: str, ylabel: str, pad: float | None = None) -> None:
    ax.set_title(title, loc="left", pad=pad)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)


@memoised
def grouped_bars(
    categories: Sequence[str],
    series: dict[str, Sequence[float]],
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    percent: bool = True,
) -> str:
    """Bars per category, one colour per series; `percent` shows shares 0-1 as %."""
    fig, ax = _axes()
    x = np.arange(len(categories))
    width = 0.8 / max(len(series), 1)
    drawn = []
    for i, (name, values) in enumerate(series.items()):
        vals = np.asarray(values, dtype=float) * (100 if percent else 1)
        bars = ax.bar(
            x + (i - (len(series) - 1) / 2) * width,
            vals,
            width,
            label=name,
            color=PALETTE[i % len(PALETTE)],
        )
        if len(categories) * len(series) <= 16:
            shown = [_number(v, 1 if percent else 0) for v in vals]
            ax.bar_label(bars, labels=shown, fontsize=7, padding=1)
        drawn += [(bar, name, v) for bar, v in zip(bars, vals, strict=True)]
    _category_ticks(ax, x, categories)
    if percent:
        ax.yaxis.set_major_formatter(_percent_ticks())
    ax.grid(axis="x", visible=False)
    pad = None
    if len(series) > 1:
        # above the plot, right-aligned, with the title above it: never over a bar
        legend = ax.legend(
            fontsize=8,
            frameon=False,
            loc="lower right",
            bbox_to_anchor=(1.0, 1.0),
            ncol=len(series),
            borderaxespad=0.2,
        )
        height = legend.get_window_extent(fig.canvas.get_renderer()).height
        pad = height * 72 / DPI + 4
    _label(ax, title, xlabel, ylabel, pad)
    names = [str(c) for c in categories] * len(series)

    def hover(renderer):
        shown = (lambda v: _percent(v, 1)) if percent else _number
        return [
            (
                _box(bar, renderer),
                f"{cat} · {name}: {shown(v)}" if len(series) > 1 else f"{cat}: {shown(v)}",
            )
            for (bar, name, v), cat in zip(drawn, names, strict=True)
        ]

    return _encode(fig, ax, hover)


@memoised
def horizontal_bars(
    categories: Sequence[str], values: Sequence[float], *, title: str, xlabel: str, ylabel: str
) -> str:
    """One bar per category, largest at the top, with the value printed at its end."""
    fig, ax = _axes(max(2.2, 0.28 * len(categories) + 0.9))
    y = np.arange(len(categories))[::-1]
    bars = ax.barh(y, np.asarray(values, dtype=float), color=PALETTE[0])
    ax.bar_label(bars, labels=[_number(v) for v in values], fontsize=7, padding=2)
    ax.set_yticks(y, [str(c) for c in categories])
    ax.grid(axis="y", visible=False)
    ax.margins(x=0.12)
    _label(ax, title, xlabel, ylabel)

    def hover(renderer):
        return [
            (_box(bar, renderer), f"{c}: {_number(v)}")
            for bar, c, v in zip(bars, categories, values, strict=True)
        ]

    return _encode(fig, ax, hover)


@memoised
def histogram(
    values: Sequence[float],
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    bins: int = 30,
    log_x: bool = False,
    half: bool = False,
    bounds: tuple[float, float] | None = None,
) -> str:
    """Distribution of a customer-level value; `log_x` for heavy right tails (CLV);
    `half` for a chart printed at half the page width; `bounds` for a value with a
    range of its own (a probability: 0 to 1, whatever the data -- the same value for
    everyone would otherwise draw an axis from 0.5 to 1.5)."""
    data = np.asarray(values, dtype=float)
    fig, ax = _figure(HALF if half else (WIDTH_IN, HEIGHT_IN))
    if log_x:
        positive = data[data > 0]
        lo = max(positive.min(), 1.0) if positive.size else 1.0
        hi = max(positive.max(), lo * 10) if positive.size else 10.0
        edges = np.geomspace(lo, hi, bins + 1)
        counts, edges, patches = ax.hist(
            np.clip(positive, lo, hi),
            bins=edges,
            color=PALETTE[0],
            edgecolor="white",
            linewidth=0.4,
        )
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(_number_ticks())
        ax.xaxis.set_minor_formatter(NullFormatter())
        shown = _number
    else:
        counts, edges, patches = ax.hist(
            data, bins=bins, range=bounds, color=PALETTE[0], edgecolor="white", linewidth=0.4
        )
        if bounds is not None:
            ax.set_xlim(*bounds)
        shown = (lambda v: _number(v, 2)) if edges[-1] - edges[0] <= 10 else _number
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_formatter(_number_ticks())
    _label(ax, title, xlabel, ylabel)

    def hover(renderer):
        return [
            (_box(p, renderer), f"{shown(a)} – {shown(b)}: {_number(n)}")
            for p, a, b, n in zip(patches, edges[:-1], edges[1:], counts, strict=True)
            if n > 0
        ]

    return _encode(fig, ax, hover)


def _curves(
    ax: Axes,
    curves: dict[str, tuple[Sequence[float], Sequence[float]]],
    reference: tuple[float, float],
    reference_label: str,
    y_scale: float,
    y_text: Callable[[float], str],
) -> Hover:
    """Cumulative curves over x in 0-1 (drawn 0-100%), the first drawn thicker, beside a
    dashed reference line from (0, 0) to (100, reference[1]); their points' hover."""
    ax.plot(
        [0, 100], list(reference), color="#999999", linestyle="--", linewidth=0.9,
        label=reference_label,
    )  # fmt: skip
    scaled = {
        name: (np.asarray(xs, dtype=float) * 100, np.asarray(ys, dtype=float) * y_scale)
        for name, (xs, ys) in curves.items()
    }
    for i, (name, (px, py)) in enumerate(scaled.items()):
        ax.plot(
            px, py, color=PALETTE[i % len(PALETTE)], linewidth=1.8 if i == 0 else 1.1, label=name
        )
    ax.set_xlim(0, 100)
    ax.xaxis.set_major_formatter(_percent_ticks())

    def hover(renderer):
        return [
            (box, f"{name}: {_percent(x)} → {y_text(y)}")
            for name, (px, py) in scaled.items()
            for box, x, y in zip(_points(ax, px, py), px, py, strict=True)
        ]

    return hover


@memoised
def lorenz(
    curves: dict[str, tuple[Sequence[float], Sequence[float]]],
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    equality_label: str,
) -> str:
    """Lorenz curves (cumulative shares 0-1) against the line of equality."""
    fig, ax = _figure(HALF)
    hover = _curves(ax, curves, (0.0, 100.0), equality_label, 100.0, lambda y: _percent(y, 1))
    ax.set_ylim(0, 100)
    ax.yaxis.set_major_formatter(_percent_ticks())
    # above the line of equality, where a Lorenz curve never is
    ax.legend(frameon=False, fontsize=8, loc="upper left")
    _label(ax, title, xlabel, ylabel)
    return _encode(fig, ax, hover)


@memoised
def ipa_scatter(
    names: Sequence[str],
    importance: Sequence[float],
    performance: Sequence[float],
    *,
    title: str,
    xlabel: str,
    ylabel: str,
) -> str:
    """Importance-performance grid: points labelled, cross-hairs at the means."""
    imp = np.asarray(importance, dtype=float)
    perf = np.asarray(performance, dtype=float)
    fig, ax = _figure((WIDTH_IN, 3.6))
    ax.scatter(imp, perf, s=36, color=PALETTE[0], zorder=3)
    for name, x, y in zip(names, imp, perf, strict=True):
        ax.annotate(str(name), (x, y), xytext=(4, 3), textcoords="offset points", fontsize=7.5)
    if imp.size:
        ax.axvline(imp.mean(), color="#999999", linestyle="--", linewidth=0.8)
        ax.axhline(perf.mean(), color="#999999", linestyle="--", linewidth=0.8)
        pad_x = max((imp.max() - imp.min()) * 0.25, 0.05)
        pad_y = max((perf.max() - perf.min()) * 0.25, 0.05)
        ax.set_xlim(imp.min() - pad_x, imp.max() + pad_x)
        ax.set_ylim(perf.min() - pad_y, perf.max() + pad_y)
    _label(ax, title, xlabel, ylabel)

    def hover(renderer):
        return [
            (box, f"{n}: {xlabel} {_number(x, 2)}, {ylabel} {_number(y, 2)}")
            for box, n, x, y in zip(_points(ax, imp, perf), names, imp, perf, strict=True)
        ]

    return _encode(fig, ax, hover)


@memoised
def intervals(
    categories: Sequence[str],
    values: Sequence[float],
    lows: Sequence[float],
    highs: Sequence[float],
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    reference: float | None = None,
    reference_label: str = "",
) -> str:
    """Point estimates with confidence intervals per category (NPS by branch)."""
    vals = np.asarray(values, dtype=float)
    err = np.vstack([vals - np.asarray(lows, dtype=float), np.asarray(highs, dtype=float) - vals])
    fig, ax = _axes()
    x = np.arange(len(categories))
    ax.errorbar(x, vals, yerr=err, fmt="o", color=PALETTE[0], ecolor="#7f7f7f", capsize=3)
    if reference is not None:
        ax.axhline(reference, color=HIGHLIGHT, linestyle="--", linewidth=0.9, label=reference_label)
        ax.legend(frameon=False, fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    _category_ticks(ax, x, categories)
    ax.grid(axis="x", visible=False)
    _label(ax, title, xlabel, ylabel)

    def hover(renderer):
        return [
            (box, f"{c}: {_number(v, 1)} ({_number(lo, 1)} – {_number(hi, 1)})")
            for box, c, v, lo, hi in zip(
                _points(ax, x, vals), categories, vals, lows, highs, strict=True
            )
        ]

    return _encode(fig, ax, hover)


@memoised
def gain(
    curves: dict[str, tuple[Sequence[float], Sequence[float]]],
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    random_label: str,
) -> str:
    """Cumulative gain of rankings (x: share of customers taken, 0-1; y: what they
    gain), against taking customers at random (the straight line to the first curve's
    end)."""
    fig, ax = _axes()
    first = next(iter(curves.values()), ([0.0, 1.0], [0.0, 0.0]))
    end = float(np.asarray(first[1], dtype=float)[-1])
    hover = _curves(ax, curves, (0.0, end), random_label, 1.0, lambda y: _number(y, 1))
    ax.axhline(0, color="#cccccc", linewidth=0.6)
    ax.yaxis.set_major_formatter(_number_ticks())
    ax.legend(frameon=False, fontsize=8, loc="best")
    _label(ax, title, xlabel, ylabel)
    return _encode(fig, ax, hover)
