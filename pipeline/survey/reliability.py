"""Reliability of a scale: Cronbach's alpha per dimension (with Feldt's confidence
interval), corrected item-total correlation, alpha if item deleted, and KMO / Bartlett's
sphericity for the whole scale. All on reverse-coded item values.

Each dimension uses its complete responses (listwise deletion within the dimension, as
psych's `use="complete.obs"`), so every statistic of a dimension is on the same rows.
A figure is computed only where it is defined: two or more rows, no constant item.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.survey.definition import SurveyDefinition
from pipeline.survey.distributions import chi2_sf, f_isf

CONFIDENCE = 0.95


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson correlation; NaN (no warning) when either side is constant or n < 2."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if len(x) < 2:
        return float("nan")
    dx, dy = x - x.mean(), y - y.mean()
    sxx, syy = float(dx @ dx), float(dy @ dy)
    if sxx <= 0 or syy <= 0:
        return float("nan")
    return float(dx @ dy) / np.sqrt(sxx * syy)


def _defined(items: pd.DataFrame) -> str | None:
    """Why alpha is undefined on these complete rows, or None when it is defined."""
    if len(items) < 3:
        return "undefined: fewer than 3 complete responses"
    constant = [c for c in items.columns if items[c].nunique() < 2]
    if constant:
        return f"undefined: constant item(s) {', '.join(constant)}"
    if items.sum(axis=1).nunique() < 2:
        return "undefined: constant total score"
    return None


def cronbach_alpha(
    items: pd.DataFrame, confidence: float = CONFIDENCE
) -> tuple[float, float, float]:
    """(alpha, ci_low, ci_high) on complete rows (n responses, k items):
    alpha = k / (k - 1) * (1 - sum of the item variances / variance of the total), and
    Feldt's interval 1 - (1 - alpha) * F quantiles with n - 1 and (n - 1)(k - 1) degrees
    of freedom, rounded to 3 decimals -- the arithmetic of pingouin.cronbach_alpha, which
    this replaces (its import cost the survey stage 1.6 s a run)."""
    data = items.astype(float)
    n, k = data.shape
    cov = data.cov()
    alpha = (k / (k - 1)) * (1 - np.trace(cov) / cov.sum().sum())
    tail = 1 - confidence
    df1 = n - 1
    df2 = df1 * (k - 1)
    low = 1 - (1 - alpha) * f_isf(tail / 2, df1, df2)
    high = 1 - (1 - alpha) * f_isf(1 - tail / 2, df1, df2)
    ci = np.round([low, high], 3)
    return float(alpha), float(ci[0]), float(ci[1])


def item_statistics(items: pd.DataFrame) -> pd.DataFrame:
    """Per item: corrected item-total correlation (item vs the sum of the other items of
    its dimension) and the dimension's alpha without the item (NaN with 2 items)."""
    rows = []
    values = items.to_numpy(dtype=float)
    total = values.sum(axis=1)
    for j, item in enumerate(items.columns):
        rest = items.drop(columns=item)
        corr = pearson(values[:, j], total - values[:, j])
        if rest.shape[1] >= 2 and _defined(rest) is None:
            alpha_deleted = cronbach_alpha(rest)[0]
        else:
            alpha_deleted = float("nan")
        rows.append({"item": item, "item_total_corr": corr, "alpha_if_deleted": alpha_deleted})
    return pd.DataFrame(rows, columns=["item", "item_total_corr", "alpha_if_deleted"])


def kmo(r: np.ndarray) -> float:
    """Kaiser-Meyer-Olkin sampling adequacy of items from their correlation matrix `r`:
    the squared correlations' share of squared correlations plus squared partial
    correlations (each pair given all the other items, from the inverse of `r`), over
    the pairs of items."""
    inverse = np.linalg.inv(r)
    scale = np.sqrt(np.diag(inverse))
    partial = -inverse / np.outer(scale, scale)
    pairs = ~np.eye(len(r), dtype=bool)
    r2, partial2 = float((r[pairs] ** 2).sum()), float((partial[pairs] ** 2).sum())
    return r2 / (r2 + partial2)


# A correlation matrix is treated as singular when its condition number passes this: its
# determinant alone shrinks with the number of items (a well-measured 27-item scale has
# one near 1e-17), so it says nothing by itself.
MAX_CONDITION = 1e12


def bartlett_sphericity(log_det: float, n: int, p: int) -> tuple[float, float]:
    """Bartlett's test that p items' correlation matrix (log determinant `log_det`, n
    responses) is the identity: chi-square -ln|R| (n - 1 - (2p + 5) / 6) on p(p - 1)/2
    degrees of freedom, and its p-value."""
    statistic = -log_det * (n - 1 - (2 * p + 5) / 6)
    return float(statistic), chi2_sf(statistic, p * (p - 1) / 2)


def scale_adequacy(items: pd.DataFrame) -> dict:
    """KMO (overall) and Bartlett's sphericity over all dimension items, complete rows.

    Computed only where the correlation matrix is non-singular (more complete rows than
    items, no constant item, a positive determinant and a condition number below
    MAX_CONDITION); otherwise the reason is given.
    """
    complete = items.dropna()
    n, p = complete.shape
    out: dict = {
        "n_complete": int(n),
        "n_items": int(p),
        "kmo": None,
        "bartlett_chi2": None,
        "bartlett_df": int(p * (p - 1) // 2),
        "bartlett_p": None,
        "status": "ok",
    }
    reason = _defined(complete)
    if reason is None and n <= p:
        reason = f"undefined: {n} complete responses for {p} items"
    if reason is None:
        r = np.corrcoef(complete.to_numpy(dtype=float), rowvar=False)
        sign, log_det = np.linalg.slogdet(r)
        if not (sign > 0 and np.linalg.cond(r) < MAX_CONDITION):
            reason = "undefined: singular item correlation matrix"
    if reason is not None:
        out["status"] = reason
        return out
    statistic, p_value = bartlett_sphericity(float(log_det), n, p)
    out.update(kmo=kmo(r), bartlett_chi2=statistic, bartlett_p=p_value)
    return out


def reliability(
    recoded: pd.DataFrame,
    definition: SurveyDefinition,
    *,
    alpha_threshold: float,
    min_group_size: int,
    confidence: float = CONFIDENCE,
) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Dimension, item and scale reliability tables for one survey, alpha's interval at
    `confidence`.

    A dimension with fewer complete responses than `min_group_size` is suppressed:
    its row stays (status says why) but carries no statistic.
    """
    dim_rows, item_frames = [], []
    for dim, names in definition.dimensions.items():
        complete = recoded[list(names)].dropna()
        n = len(complete)
        row = {
            "dimension": dim,
            "n_items": len(names),
            "n_complete": n,
            "alpha": np.nan,
            "alpha_ci_low": np.nan,
            "alpha_ci_high": np.nan,
            "below_threshold": pd.NA,
        }
        status = (
            "suppressed: fewer complete responses than min_group_size"
            if n < min_group_size
            else _defined(complete)
        )
        if status is None:
            alpha, lo, hi = cronbach_alpha(complete, confidence)
            row.update(
                alpha=alpha,
                alpha_ci_low=lo,
                alpha_ci_high=hi,
                below_threshold=bool(alpha < alpha_threshold),
            )
            stats = item_statistics(complete)
        else:
            stats = pd.DataFrame(
                {"item": list(names), "item_total_corr": np.nan, "alpha_if_deleted": np.nan}
            )
        row["status"] = status or "ok"
        dim_rows.append(row)
        stats.insert(0, "dimension", dim)
        stats.insert(2, "reverse_coded", [i in definition.reverse_coded for i in names])
        item_frames.append(stats)
    dims = pd.DataFrame(dim_rows)
    dims["below_threshold"] = dims["below_threshold"].astype("boolean")
    items = pd.concat(item_frames, ignore_index=True)
    scale = scale_adequacy(recoded[definition.dimension_items])
    if scale["n_complete"] < min_group_size:
        scale.update(
            kmo=None,
            bartlett_chi2=None,
            bartlett_p=None,
            status="suppressed: fewer complete responses than min_group_size",
        )
    return dims, items, scale
