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


# What the model card's drift section compares, in the bank's words.
KEY_FEATURES = (
    "aum",
    "recency_days",
    "frequency",
    "monetary",
    "digital_share",
    "products_held",
    "tenure_months",
    "days_since_rm_contact",
)
SCORE_MEASURES = ("p_alive", "clv", "churn_probability")


def measure_rows(
    previous: pd.DataFrame | None, current: pd.DataFrame, columns: tuple[str, ...], kind: str
) -> list[dict]:
    """One row per measure: its PSI against the previous period and whether it shifted.

    A measure without a comparable previous value gets psi None, a `reason` code and a
    note saying why -- never a made-up number. Reasons: no_previous (nothing to compare
    with), not_in_both (a column one period lacks), no_previous_values (all missing then,
    e.g. no churn model), no_customers (nobody this period).
    """
    rows = []
    for column in columns:
        row = {"measure": column, "kind": kind, "psi": None, "shifted": False}
        reason = None
        if previous is None:
            reason = "no_previous"
        elif column not in previous or column not in current:
            reason = "not_in_both"
        else:
            prev = previous[column].astype("float64").to_numpy()
            curr = current[column].astype("float64").to_numpy()
            if not np.isfinite(prev).any():
                reason = "no_previous_values"
            elif curr.size == 0:
                reason = "no_customers"
            else:
                value = round(psi(prev, curr), 6)
                row.update(psi=value, shifted=value > PSI_SHIFT)
        row["reason"] = reason
        row["note"] = _NOTES[reason].format(kind=kind) if reason else None
        rows.append(row)
    return rows


_NOTES = {
    "no_previous": "no previous {kind}s",
    "not_in_both": "not in both periods",
    "no_previous_values": "no values in the previous period",
    "no_customers": "no customers this period",
}


def feature_drift(previous_features: pd.DataFrame, features: pd.DataFrame) -> list[dict]:
    """drift_section's rows for KEY_FEATURES: this period's mart against the previous
    one's (an empty previous mart: no customers then, nothing to compare with)."""
    before = None if previous_features.empty else previous_features
    return measure_rows(before, features, KEY_FEATURES, "feature")


def drift_section(
    previous_period: str,
    features_rows: list[dict],
    previous_scores: pd.DataFrame | None,
    scores: pd.DataFrame,
) -> dict:
    """The model card's `drift`: PSI of the key features (`feature_drift`'s rows) and the
    score distributions against the previous period, and a warning for every measure
    above PSI_SHIFT.

    `previous_scores` None means the previous period was not scored: score measures then
    say "no previous scores" (scoring an earlier period here would be a different model).
    """
    score_rows = measure_rows(previous_scores, scores, SCORE_MEASURES, "score")
    rows = features_rows + score_rows
    shifted = [r["measure"] for r in rows if r["shifted"]]
    return {
        "previous_period": previous_period,
        "threshold": PSI_SHIFT,
        "bins": "deciles of the previous period (missing values a bin of their own)",
        "previous_scores": previous_scores is not None,
        "measures": rows,
        "shifted": shifted,
        "warnings": [
            f"{r['measure']} shifted since {previous_period}: PSI {r['psi']:.3f} > {PSI_SHIFT}"
            for r in rows
            if r["shifted"]
        ],
    }
