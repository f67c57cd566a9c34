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

from datetime import date

import numpy as np
import pandas as pd

from pipeline.periods import days_before

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


def quadrants(scores: pd.DataFrame, high_value_decile: int, high_risk: float) -> pd.Series:
    """Each customer's quadrant; `high_risk` is churn.bands.high."""
    high_value = (scores["clv_decile"] >= high_value_decile).fillna(False)
    by_model = scores["churn_band"].eq("high")
    by_alive = (1 - scores["p_alive"].astype("Float64")) >= high_risk
    high_risk = np.where(scores["churn_probability"].notna(), by_model, by_alive.fillna(False))
    hv, hr = high_value.to_numpy(dtype=bool), np.asarray(high_risk, dtype=bool)
    labels = np.select(
        [hv & hr, hv & ~hr, ~hv & hr],
        [QUADRANTS[True, True], QUADRANTS[True, False], QUADRANTS[False, True]],
        QUADRANTS[False, False],
    )
    return pd.Series(labels, index=scores.index, dtype=object)


def watchlists(scores: pd.DataFrame, as_of: date, size: int) -> dict[str, pd.DataFrame]:
    """branch_id -> its watchlist of at most `size` customers (every branch in the
    scores, possibly empty)."""
    w = scores[scores["value_risk_quadrant"] == "retain now"].copy()
    w["value_at_risk"] = (w["clv"] * risk_of(w)).astype("float64")
    last = days_before(as_of, w["days_since_rm_contact"]).dt.strftime("%Y-%m-%d")
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


BRANCH_SCORE_COLUMNS = (
    "period",
    "scope",
    "branch_id",
    "active_customers",
    "scored_customers",
    "high_risk_customers",
    "high_risk_share",
    "retain_now",
)


def branch_scores(scores: pd.DataFrame, period: str) -> pd.DataFrame:
    """branch_scores.parquet: per branch (sorted) and network-wide, the customers active
    at as-of, those the churn model scored, those in the high band and their share of
    the scored (null without a model), and the customers to "retain now". The report
    shows these numbers; it does not count them again."""
    active = scores[scores["status"] == "active"]
    scopes = [("branch", str(b), active[active["branch_id"].astype(str) == str(b)])
              for b in sorted(scores["branch_id"].dropna().astype(str).unique())]
    scopes.append(("network", None, active))
    rows = []
    for scope, branch, part in scopes:
        scored = part["churn_band"].dropna()
        rows.append(
            {
                "period": period,
                "scope": scope,
                "branch_id": branch,
                "active_customers": len(part),
                "scored_customers": len(scored),
                "high_risk_customers": int((scored == "high").sum()),
                "high_risk_share": float((scored == "high").mean()) if len(scored) else None,
                "retain_now": int((part["value_risk_quadrant"] == "retain now").sum()),
            }
        )
    out = pd.DataFrame(rows, columns=list(BRANCH_SCORE_COLUMNS))
    return out.astype({"high_risk_share": "float64"})
