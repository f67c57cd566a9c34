"""Sparklines: a KPI's last months as a small inline SVG, the same in a browser and a PDF.

Inline SVG, not a chart image: a dozen per page cost nothing to draw, stay sharp when
printed, and each month's point carries its value as an SVG <title>, which a browser
shows on hover. Months without a value leave a gap. The last point is coloured by the
KPI's status against its target. Coordinates are rounded, so the same values give the
same bytes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from markupsafe import Markup, escape

WIDTH, HEIGHT, PAD = 110.0, 26.0, 3.0
STATUS_COLOURS = {"green": "#2e7d32", "amber": "#c77700", "red": "#c00000", "none": "#1f4e79"}


def _xy(i: int, n: int, value: float, low: float, high: float) -> tuple[float, float]:
    x = PAD + (WIDTH - 2 * PAD) * (i / (n - 1) if n > 1 else 0.5)
    span = high - low
    share = 0.5 if span <= 0 else (value - low) / span
    return round(x, 1), round(HEIGHT - PAD - (HEIGHT - 2 * PAD) * share, 1)


def sparkline(
    values: Sequence[float | None],
    titles: Sequence[str],
    status: str = "none",
    label: str = "",
) -> Markup:
    """An SVG of `values` (None: no value that month), one hover title per point."""
    n = len(values)
    known = [v for v in values if v is not None and math.isfinite(v)]
    colour = STATUS_COLOURS.get(status, STATUS_COLOURS["none"])
    parts = [
        f'<svg class="spark" viewBox="0 0 {WIDTH:g} {HEIGHT:g}" width="{WIDTH:g}" '
        f'height="{HEIGHT:g}" role="img" aria-label="{escape(label)}">'
    ]
    if not known:
        parts.append("</svg>")
        return Markup("".join(parts))
    low, high = min(known), max(known)
    runs: list[list[tuple[float, float]]] = [[]]
    points = []
    for i, (v, title) in enumerate(zip(values, titles, strict=True)):
        if v is None or not math.isfinite(v):
            runs.append([])
            continue
        xy = _xy(i, n, v, low, high)
        runs[-1].append(xy)
        points.append((xy, title))
    for run in runs:
        if len(run) > 1:
            coords = " ".join(f"{x:g},{y:g}" for x, y in run)
            parts.append(
                f'<polyline points="{coords}" fill="none" stroke="#7f9cbf" stroke-width="1.4"/>'
            )
    step = (WIDTH - 2 * PAD) / (n - 1) if n > 1 else WIDTH
    for k, ((x, y), title) in enumerate(points):
        last = k == len(points) - 1
        fill = colour if last else "#7f9cbf"
        parts.append(f'<circle cx="{x:g}" cy="{y:g}" r="{2.6 if last else 1.5:g}" fill="{fill}"/>')
        # a column as wide as a month, invisible, to hover over for the month's value
        left = round(max(x - step / 2, 0.0), 1)
        parts.append(
            f'<rect class="spark-hit" x="{left:g}" y="0" width="{round(step, 1):g}" '
            f'height="{HEIGHT:g}" fill-opacity="0"><title>{escape(title)}</title></rect>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
