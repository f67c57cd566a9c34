"""Value x risk: CLV deciles, quadrants, and the per-branch watchlist of customers to retain.

- clv_decile: 1-10 over customers with a CLV; tied values share the lowest decile of
  the tie (deterministic, never collapses or crashes on ties).
- high value: clv_decile >= value_risk.high_value_decile (no CLV: not high value).
- high risk: churn_band "high" when the supervised model scored the customer; without
  it, 1 - p_alive >= churn.bands.high (the same threshold on the BTYD's dropout chance).
- quadrants: retain now (high value, high risk), protect (high value, low risk),
  win back cheaply (low value, high risk), develop (low value, low risk).
- watchlist: per branch, the "retain now" customers by value at risk (clv x risk, risk
  being churn_probability or 1 - p_alive), top value_risk.watchlist_size. No PII: ids,
  RM, tier, numbers and reasons only.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

QUADRANTS = {
    (True, True): "retain now",
    (True, False): "protect",
    (False, True): "win back cheaply",
    (False, False): "develop",
}
WATCHLIST_COLUMNS = [
    "branch_id",
    "rank",
    "customer_id",
    "rm_id",
    "tier",
    "rfm_segment",
    "clv",
    "clv_decile",
    "churn_probability",
    "churn_band",
    "p_alive",
    "value_at_risk",
    "top_reasons",
    "last_contact_date",
]


def clv_deciles(clv: pd.Series) -> pd.Series:
    """Decile 1-10 by rank; ties share the lowest; null CLV stays null."""
    known = clv.notna()
    n = int(known.sum())
    out = pd.Series(pd.NA, index=clv.index, dtype="Int64")
    if n:
        rank = clv[known].rank(method="min").to_numpy()
        out[known] = (np.floor((rank - 1) * 10 / n) + 1).astype(int)
    return out


def risk_of(scores: pd.DataFrame) -> pd.Series:
    """Churn probability where the model scored, else 1 - p_alive (null if neither)."""
    return (
        scores["churn_probability"]
        .astype("Float64")
        .fillna(1 - scores["p_alive"].astype("Float64"))
    )


def quadrants(scores: pd.DataFrame, cfg: dict[str, Any]) -> pd.Series:
    high_value = (scores["clv_decile"] >= cfg["value_risk"]["high_value_decile"]).fillna(False)
    by_model = scores["churn_band"].eq("high")
    by_alive = (1 - scores["p_alive"].astype("Float64")) >= cfg["churn"]["bands"]["high"]
    high_risk = np.where(scores["churn_probability"].notna(), by_model, by_alive.fillna(False))
    hv, hr = high_value.to_numpy(dtype=bool), np.asarray(high_risk, dtype=bool)
    labels = np.select(
        [hv & hr, hv & ~hr, ~hv & hr],
        [QUADRANTS[True, True], QUADRANTS[True, False], QUADRANTS[False, True]],
        QUADRANTS[False, False],
    )
    return pd.Series(labels, index=scores.index, dtype=object)


def watchlists(scores: pd.DataFrame, as_of, cfg: dict[str, Any]) -> dict[str, pd.DataFrame]:
    """branch_id -> its watchlist (every branch in the scores, possibly empty)."""
    size = cfg["value_risk"]["watchlist_size"]
    w = scores[scores["value_risk_quadrant"] == "retain now"].copy()
    w["value_at_risk"] = (w["clv"] * risk_of(w)).astype("float64")
    days = pd.to_timedelta(w["days_since_rm_contact"].astype("float64"), unit="D")
    last = (pd.Timestamp(as_of) - days).dt.strftime("%Y-%m-%d")
    w["last_contact_date"] = last.astype(object).where(last.notna(), None)
    w = w.sort_values(["branch_id", "value_at_risk", "customer_id"], ascending=[True, False, True])
    w = w.groupby("branch_id", sort=True).head(size)
    w["rank"] = w.groupby("branch_id").cumcount() + 1
    # Presentation for people reading the CSV: money to cents, probabilities to 4 places.
    w = w.round({"clv": 2, "value_at_risk": 2, "churn_probability": 4, "p_alive": 4})
    out = {}
    for branch in sorted(scores["branch_id"].dropna().unique()):
        out[str(branch)] = w.loc[w["branch_id"] == branch, WATCHLIST_COLUMNS].reset_index(drop=True)
    return out
