"""Report charts: matplotlib (Agg), PNG at a fixed dpi, inlined as base64 data URIs.

PNG, not SVG: dense scatter plots in inline SVG made WeasyPrint about three times
slower. Every chart has a title, labelled axes and the unit in the axis label. The
PNG carries no software/version metadata, so the same data gives the same bytes.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import (  # noqa: E402
    FuncFormatter,
    MaxNLocator,
    NullFormatter,
    PercentFormatter,
)

DPI = 120
WIDTH_IN = 6.4
HEIGHT_IN = 3.0
HALF = (3.3, 3.0)  # a chart printed beside another, at half the page width
PALETTE = ("#1f4e79", "#c55a11", "#548235", "#7f6000", "#7030a0", "#2e75b6")
HIGHLIGHT = "#c00000"


def configure(families: list[str]) -> None:
    """Set the fonts and style once per process (the CJK font first for zh_CN)."""
    plt.rcParams.update(
        {
            "font.family": families,
            "font.size": 9,
            "axes.titlesize": 10.5,
            # CJK fonts such as WenQuanYi Micro Hei ship no bold face
            "axes.titleweight": "bold" if families[0] == "DejaVu Sans" else "normal",
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.grid": True,
            "grid.color": "#dddddd",
            "grid.linewidth": 0.6,
            "axes.axisbelow": True,
            "axes.unicode_minus": False,
        }
    )


def _encode(fig: plt.Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _axes(height: float = HEIGHT_IN) -> tuple[plt.Figure, plt.Axes]:
    fig, ax = plt.subplots(figsize=(WIDTH_IN, height), layout="constrained")
    return fig, ax


def _label(ax: plt.Axes, title: str, xlabel: str, ylabel: str) -> None:
    ax.set_title(title, loc="left")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)


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
            ax.bar_label(bars, fmt="%.1f" if percent else "%.0f", fontsize=7, padding=1)
    ax.set_xticks(
        x,
        [str(c) for c in categories],
        rotation=0 if len(categories) <= 6 else 30,
        ha="center" if len(categories) <= 6 else "right",
    )
    if percent:
        ax.yaxis.set_major_formatter(PercentFormatter(decimals=0))
    ax.grid(axis="x", visible=False)
    if len(series) > 1:
        ax.legend(frameon=False, fontsize=8)
    _label(ax, title, xlabel, ylabel)
    return _encode(fig)


def horizontal_bars(
    categories: Sequence[str], values: Sequence[float], *, title: str, xlabel: str, ylabel: str
) -> str:
    """One bar per category, largest at the top, with the value printed at its end."""
    fig, ax = _axes(max(2.2, 0.28 * len(categories) + 0.9))
    y = np.arange(len(categories))[::-1]
    bars = ax.barh(y, np.asarray(values, dtype=float), color=PALETTE[0])
    ax.bar_label(bars, labels=[f"{v:,.0f}" for v in values], fontsize=7, padding=2)
    ax.set_yticks(y, [str(c) for c in categories])
    ax.grid(axis="y", visible=False)
    ax.margins(x=0.12)
    _label(ax, title, xlabel, ylabel)
    return _encode(fig)


def histogram(
    values: Sequence[float],
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    bins: int = 30,
    log_x: bool = False,
    half: bool = False,
) -> str:
    """Distribution of a customer-level value; `log_x` for heavy right tails (CLV);
    `half` for a chart printed at half the page width."""
    data = np.asarray(values, dtype=float)
    fig, ax = plt.subplots(figsize=HALF if half else (WIDTH_IN, HEIGHT_IN), layout="constrained")
    if log_x:
        positive = data[data > 0]
        lo = max(positive.min(), 1.0) if positive.size else 1.0
        hi = max(positive.max(), lo * 10) if positive.size else 10.0
        edges = np.geomspace(lo, hi, bins + 1)
        ax.hist(
            np.clip(positive, lo, hi),
            bins=edges,
            color=PALETTE[0],
            edgecolor="white",
            linewidth=0.4,
        )
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
        ax.xaxis.set_minor_formatter(NullFormatter())
    else:
        ax.hist(data, bins=bins, color=PALETTE[0], edgecolor="white", linewidth=0.4)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    _label(ax, title, xlabel, ylabel)
    return _encode(fig)


def lorenz(
    curves: dict[str, tuple[Sequence[float], Sequence[float]]],
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    equality_label: str,
) -> str:
    """Lorenz curves (cumulative shares 0-1) against the line of equality."""
    fig, ax = plt.subplots(figsize=HALF, layout="constrained")
    ax.plot(
        [0, 100], [0, 100], color="#999999", linestyle="--", linewidth=0.9, label=equality_label
    )
    for i, (name, (xs, ys)) in enumerate(curves.items()):
        ax.plot(
            np.asarray(xs) * 100,
            np.asarray(ys) * 100,
            color=PALETTE[i % len(PALETTE)],
            linewidth=1.8 if i == 0 else 1.1,
            label=name,
        )
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 100)
    ax.xaxis.set_major_formatter(PercentFormatter(decimals=0))
    ax.yaxis.set_major_formatter(PercentFormatter(decimals=0))
    ax.legend(frameon=False, fontsize=8, loc="upper left")
    _label(ax, title, xlabel, ylabel)
    return _encode(fig)


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
    fig, ax = plt.subplots(figsize=(WIDTH_IN, 3.6), layout="constrained")
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
    return _encode(fig)


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
        ax.legend(frameon=False, fontsize=8)
    ax.set_xticks(x, [str(c) for c in categories])
    ax.grid(axis="x", visible=False)
    _label(ax, title, xlabel, ylabel)
    return _encode(fig)
