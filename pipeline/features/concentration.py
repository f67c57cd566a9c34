"""How concentrated AUM is: Lorenz curve, Gini, and the share held by the top customers.

All three come from one curve. Customers sorted by AUM ascending give the Lorenz
vertices (i/n, S_i/S), i = 0..n, with S_i the AUM of the i poorest; between vertices
the curve is linear (each customer is a uniform slice of the population). Then

- Gini = 1 - 2 * (area under the curve) = 2 sum(i x_i) / (n S) - (n + 1) / n, in
  [0, (n - 1)/n]: 0 when all hold the same, (n - 1)/n when one customer holds all;
- share of the top p (1% or 10%) = 1 - L(1 - p), reading the curve between vertices,
  so with fewer than 100 customers the top 1% is a fraction of the largest one;
- curve points at cum_customer_share = k / points, k = 0..points.

Negative AUM (an overdraft with nothing else) counts as 0: concentration is of assets
held. With no customers or zero total AUM every measure is undefined (NaN).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Concentration:
    gini: float
    top1_share: float
    top10_share: float
    lorenz_customer_share: np.ndarray
    lorenz_aum_share: np.ndarray


def lorenz_vertices(aum: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(i/n, S_i/S) for i = 0..n over AUM sorted ascending; NaN shares when S is 0."""
    x = np.sort(np.clip(np.asarray(aum, dtype=np.float64), 0.0, None))
    n = len(x)
    cum = np.concatenate(([0.0], np.cumsum(x)))
    total = cum[-1]
    customer_share = np.arange(n + 1, dtype=np.float64) / max(n, 1)
    if n == 0 or total <= 0:
        return customer_share, np.full(n + 1, np.nan)
    aum_share = cum / total
    aum_share[-1] = 1.0
    return customer_share, aum_share


def gini(aum: np.ndarray) -> float:
    """Gini coefficient of AUM (see module docstring); NaN when undefined."""
    x = np.sort(np.clip(np.asarray(aum, dtype=np.float64), 0.0, None))
    n, total = len(x), float(x.sum())
    if n == 0 or total <= 0:
        return float("nan")
    i = np.arange(1, n + 1, dtype=np.float64)
    value = 2.0 * float(np.dot(i, x)) / (n * total) - (n + 1) / n
    return float(min(max(value, 0.0), 1.0))


def top_share(aum: np.ndarray, p: float) -> float:
    """Share of total AUM held by the richest fraction p of customers (0 < p <= 1)."""
    xs, ys = lorenz_vertices(aum)
    if np.isnan(ys).any():
        return float("nan")
    return float(1.0 - np.interp(1.0 - p, xs, ys))


def concentration(aum: np.ndarray, points: int) -> Concentration:
    """Gini, top-1% and top-10% shares and `points + 1` Lorenz points of one population."""
    xs, ys = lorenz_vertices(aum)
    grid = np.arange(points + 1, dtype=np.float64) / points
    if np.isnan(ys).any():
        nan = float("nan")
        return Concentration(nan, nan, nan, grid, np.full(points + 1, np.nan))
    curve = np.interp(grid, xs, ys)
    return Concentration(
        gini=gini(aum),
        top1_share=float(1.0 - np.interp(0.99, xs, ys)),
        top10_share=float(1.0 - np.interp(0.90, xs, ys)),
        lorenz_customer_share=grid,
        lorenz_aum_share=curve,
    )
