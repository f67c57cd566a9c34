"""Value x risk: CLV deciles, quadrants, and the per-branch watchlist of customers to retain.

- clv_decile: 1-10 over customers with a CLV; tied values share the lowest decile of
  the tie (deterministic, never collapses or crashes on ties).
- high value: the top value_risk.high_value_share of active customers by CLV
  (pipeline.scoring.value.high_value).
- high risk: churn_band "high" when the supervised model scored the customer; without
  it, 1 - p_alive >= churn.bands.high (the same threshold on the BTYD's dropout chance).
- quadrants: retain now (high value, high risk), protect (high value, low risk),
  win back cheaply (low value, high risk), develop (low value, low risk).
- watchlist: per branch, the active customers with the most value at risk (CLV x the
  probability of leaving within the churn horizon), top value_risk.watchlist_size: what
  the branch stands to lose, largest first. No PII: ids, RM, tier, numbers and reasons.

Every list a branch acts on (watchlists, call lists, unassigned) shows as
`churn_probability` the probability its value at risk was weighted with
(`leave_probability`: the churn model's, else 1 - P(alive)), so a row's numbers agree.
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
    "aum",
    "monthly_profit",
    "clv",
    "churn_probability",
    "churn_band",
    "value_at_risk",
    "high_value",
    "reason_codes",
    "last_contact_date",
]
# Presentation for people reading the CSVs: money to cents, probabilities to 4 places.
ROUNDING = {
    "aum": 2,
    "monthly_profit": 2,
    "clv": 2,
    "value_at_risk": 2,
    "churn_probability": 4,
    "contact_effect": 4,
    "value_saved": 2,
}


def clv_deciles(clv: pd.Series) -> pd.Series:
    """Decile 1-10 by rank; ties share the lowest; null CLV stays null."""
    known = clv.notna()
    n = int(known.sum())
    out = pd.Series(pd.NA, index=clv.index, dtype="Int64")
    if n:
        rank = clv[known].rank(method="min").to_numpy()
        out[known] = (np.floor((rank - 1) * 10 / n) + 1).astype(int)
    return out


def quadrants(scores: pd.DataFrame, high_risk: float) -> pd.Series:
    """Each customer's quadrant from `high_value` and the risk; `high_risk` is
    churn.bands.high."""
    high_value = scores["high_value"]
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


def last_contact(scores: pd.DataFrame, as_of: date) -> pd.Series:
    """The date of each customer's last RM contact (YYYY-MM-DD; None: never)."""
    last = days_before(as_of, scores["days_since_rm_contact"]).dt.strftime("%Y-%m-%d")
    return last.astype(object).where(last.notna(), None)


def as_listed(rows: pd.DataFrame) -> pd.DataFrame:
    """A list's rows as written: the probability of leaving beside value at risk is the
    one it was weighted with (see the module), money and probabilities rounded."""
    return rows.assign(churn_probability=rows["leave_probability"]).round(ROUNDING)


def ranked_by_value_at_risk(customers: pd.DataFrame) -> pd.DataFrame:
    """Active customers with value at risk, largest first (ties by customer id): the
    order of every list a branch acts on."""
    active = customers[(customers["status"] == "active") & (customers["value_at_risk"] > 0)]
    return active.sort_values(["value_at_risk", "customer_id"], ascending=[False, True])


def top_by_value_at_risk(customers: pd.DataFrame, keys: list[str], size: int) -> pd.DataFrame:
    """The `size` active customers with the most value at risk of each group of `keys`
    (ties by customer id), in that order. Only customers at or above their group's
    size-th largest value at risk can be among them, so only those are sorted: at a
    million customers, a fraction of them."""
    rows = np.flatnonzero(
        ((customers["status"] == "active") & (customers["value_at_risk"] > 0)).to_numpy()
    )
    active = customers[[*keys, "value_at_risk"]].iloc[rows]  # a million rows: few columns
    by = [active[k].astype(str) for k in keys]
    # at or above the size-th largest: a rank (ties at their best) of at most size
    place = active.groupby(by)["value_at_risk"].rank(method="min", ascending=False)
    ranked = ranked_by_value_at_risk(customers.iloc[rows[(place <= size).to_numpy()]])
    return ranked.groupby([ranked[k].astype(str) for k in keys], sort=False).head(size)


def branch_ids(frame: pd.DataFrame) -> list[str]:
    """The branch ids a frame holds, as text, sorted."""
    return sorted(frame["branch_id"].dropna().astype(str).unique())


def split_by(frame: pd.DataFrame, keys: list[str], wanted: list) -> dict:
    """wanted key -> the rows of `frame` whose `keys` columns (as text) are that key (a
    tuple for several columns), in the frame's order; an empty frame with the same
    columns for a key without rows. One groupby, not a mask per key: a bank has
    thousands of RMs."""
    by = [frame[k].astype(str) for k in keys]
    groups = dict(list(frame.groupby(by if len(by) > 1 else by[0], sort=False)))
    empty = frame.iloc[:0]
    return {key: groups.get(key, empty) for key in wanted}


def watchlists(scores: pd.DataFrame, as_of: date, size: int) -> dict[str, pd.DataFrame]:
    """branch_id -> its watchlist: the `size` active customers with the most value at
    risk (every branch in the scores, possibly empty)."""
    top = top_by_value_at_risk(scores, ["branch_id"], size)
    top = top.assign(last_contact_date=last_contact(top, as_of))
    branches = branch_ids(scores)
    out = {}
    for branch, w in split_by(top, ["branch_id"], branches).items():
        w = as_listed(w.assign(rank=np.arange(1, len(w) + 1)))
        out[branch] = w[WATCHLIST_COLUMNS].reset_index(drop=True)
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
    "high_value_customers",
    "monthly_balance_margin",
    "monthly_interchange",
    "monthly_fees",
    "monthly_cost_to_serve",
    "monthly_profit",
    "clv",
    "value_at_risk",
    "high_value_at_risk",
    "value_at_risk_share",
    "clv_per_customer",
    "in_btyd_customers",
    "call_list_customers",
    "expected_value_saved",
    "do_not_call_customers",
)


MONEY_TOTALS = (
    "monthly_balance_margin",
    "monthly_interchange",
    "monthly_fees",
    "monthly_cost_to_serve",
    "monthly_profit",
    "clv",
    "value_at_risk",
)


def branch_scores(
    scores: pd.DataFrame,
    period: str,
    calls: dict[tuple[str, str], pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """branch_scores.parquet: per branch (sorted) and network-wide, the customers active
    at as-of, those the churn model scored, those in the high band and their share of
    the scored (null without a model), the customers to "retain now" and the high-value
    ones; the active customers' monthly profit by component, CLV (and per customer) and
    value at risk (and its share of CLV), the value at risk of the high-value ones, how
    many the BTYD model covers; and from the RMs' call lists (`calls`), the customers to
    call, the value those calls are expected to save (0 when the lists are ranked by
    value at risk) and the customers marked "do not call". The report shows these
    numbers; it does not count them again."""
    listed = pd.concat(list((calls or {}).values())) if calls else None
    # only the columns counted: splitting a million customers by branch copies them
    read = ["branch_id", "churn_band", "value_risk_quadrant", "high_value", "in_btyd"]
    active = scores.loc[(scores["status"] == "active").to_numpy(), [*read, *MONEY_TOTALS]]
    branches = branch_ids(scores)
    parts = split_by(active, ["branch_id"], branches)
    scopes = [("branch", b, parts[b]) for b in branches]
    scopes.append(("network", None, active))
    rows = []
    for scope, branch, part in scopes:
        scored = part["churn_band"].dropna()
        money = {c: float(part[c].sum()) for c in MONEY_TOTALS}
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
                "high_value_customers": int(part["high_value"].sum()),
                **money,
                "high_value_at_risk": float(part.loc[part["high_value"], "value_at_risk"].sum()),
                "value_at_risk_share": money["value_at_risk"] / money["clv"]
                if money["clv"] > 0
                else None,
                "clv_per_customer": money["clv"] / len(part) if len(part) else None,
                "in_btyd_customers": int(part["in_btyd"].sum()),
                **_call_totals(listed, branch),
            }
        )
    out = pd.DataFrame(rows, columns=list(BRANCH_SCORE_COLUMNS))
    shares = ("high_risk_share", "value_at_risk_share", "clv_per_customer")
    return out.astype({c: "float64" for c in shares})


def _call_totals(listed: pd.DataFrame | None, branch: str | None) -> dict[str, float | int]:
    """A branch's (None: the network's) customers to call, the value those calls are
    expected to save, and its customers marked "do not call", from the call lists."""
    if listed is None or not len(listed):
        return {"call_list_customers": 0, "expected_value_saved": 0.0, "do_not_call_customers": 0}
    mine = listed if branch is None else listed[listed["branch_id"].astype(str) == branch]
    call = mine["action"] == "call"
    return {
        "call_list_customers": int(call.sum()),
        "expected_value_saved": float(mine.loc[call, "value_saved"].fillna(0.0).sum()),
        "do_not_call_customers": int((mine["action"] == "do not call").sum()),
    }
