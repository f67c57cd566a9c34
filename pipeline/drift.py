"""Population stability index (PSI): how far a feature's or a score's distribution this
period has moved from the previous period's. Above 0.25 is the usual "shifted" line."""

from __future__ import annotations

import numpy as np
import pandas as pd

PSI_SHIFT = 0.25
_EPS = 1e-4  # share given to an empty bin so the log stays finite


def bin_edges(expected: np.ndarray, bins: int = 10) -> np.ndarray:
    """Quantile edges of the reference (previous-period) values; repeated edges merged."""
    finite = expected[np.isfinite(expected)]
    if finite.size == 0:
        raise ValueError("PSI needs at least one finite reference value")
    inner = np.unique(np.quantile(finite, np.linspace(0, 1, bins + 1)[1:-1]))
    return np.concatenate(([-np.inf], inner, [np.inf]))


def psi(expected, actual, bins: int = 10) -> float:
    """PSI of `actual` against `expected`, binned on `expected`'s quantiles.

    Missing values form their own bin, so a feature that starts going missing drifts.
    """
    exp = np.asarray(expected, dtype=float)
    act = np.asarray(actual, dtype=float)
    if exp.size == 0 or act.size == 0:
        raise ValueError("PSI needs values in both periods")
    edges = bin_edges(exp, bins)
    e_share = _shares(exp, edges)
    a_share = _shares(act, edges)
    e_share = np.where(e_share == 0, _EPS, e_share)
    a_share = np.where(a_share == 0, _EPS, a_share)
    return float(np.sum((a_share - e_share) * np.log(a_share / e_share)))


def _shares(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    finite = np.isfinite(values)
    counts = np.histogram(values[finite], bins=edges)[0]
    counts = np.append(counts, (~finite).sum())
    return counts / values.size


def psi_table(previous: pd.DataFrame, current: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """PSI per column present in both frames, with a `shifted` flag above PSI_SHIFT.

    Booleans and numbers are compared as numbers; other columns are skipped.
    """
    rows = []
    for column in columns:
        if column not in previous or column not in current:
            continue
        prev = pd.to_numeric(previous[column].astype("float64"), errors="coerce").to_numpy()
        curr = pd.to_numeric(current[column].astype("float64"), errors="coerce").to_numpy()
        if not np.isfinite(prev).any():
            continue
        value = psi(prev, curr)
        rows.append({"column": column, "psi": value, "shifted": value > PSI_SHIFT})
    return pd.DataFrame(rows, columns=["column", "psi", "shifted"])
