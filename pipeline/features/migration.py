"""Tier migration between two consecutive as-of dates, per branch.

Universe: customers active at the previous as-of date, plus everyone in the current
mart (active now, or closed during the current period). from_tier is the tier at the
previous as-of, or "new" for a customer not active then (opened since); to_tier is
the tier now, or "closed" for a customer closed during the period. `movement` names
the step, the first that applies of new, closed, up, down, same (up/down by position
in the configured tier order; opened and closed within the period is "new").
A customer active at the previous date but absent from the current mart cannot occur
when both sides come from the same customers table; if it does, it counts as closed.
Rows are only the (branch, from, to) pairs with customers, in tier order.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from pipeline.features.tiers import category_codes

NEW, CLOSED = "new", "closed"
COLUMNS = ["branch_id", "period", "from_tier", "to_tier", "movement", "customers"]


def compute_tier_migration(
    previous: pd.DataFrame,
    current: pd.DataFrame,
    tier_names: tuple[str, ...],
    period: str,
) -> pd.DataFrame:
    """Counts of customers per (branch_id, from_tier, to_tier).

    `previous`: customer_id, branch_id, status, tier at the previous as-of date;
    `current`: the same columns at this period's as-of date (the feature mart).
    The id match and the counting are one DuckDB outer join and GROUP BY.
    """
    T = len(tier_names)
    before = pd.DataFrame(
        {
            "customer_id": previous["customer_id"],
            "branch_id": previous["branch_id"],
            "active": (previous["status"] == "active").to_numpy(dtype=bool),
            "tier": category_codes(previous["tier"], tier_names),
        }
    )
    now = pd.DataFrame(
        {
            "customer_id": current["customer_id"],
            "branch_id": current["branch_id"],
            "active": (current["status"] == "active").to_numpy(dtype=bool),
            "tier": category_codes(current["tier"], tier_names),
        }
    )
    con = duckdb.connect(config={"threads": 2})
    try:
        con.register("before_frame", before)
        con.register("now_frame", now)
        # from codes: 0 = new, 1..T = tiers; to codes: 0..T-1 = tiers, T = closed
        counts = con.sql(
            f"""
            SELECT CAST(coalesce(n.branch_id, b.branch_id) AS VARCHAR) AS branch_id,
                   coalesce(b.tier + 1, 0) AS from_code,
                   CASE WHEN n.active THEN n.tier ELSE {T} END AS to_code,
                   count(*) AS customers
            FROM (SELECT * FROM before_frame WHERE active) b
            FULL OUTER JOIN now_frame n ON b.customer_id = n.customer_id
            GROUP BY ALL
            ORDER BY branch_id, from_code, to_code
            """
        ).df()
    finally:
        con.close()
    f = counts["from_code"].to_numpy(dtype=np.int64)
    to = counts["to_code"].to_numpy(dtype=np.int64)
    from_labels = np.array([NEW, *tier_names], dtype=object)
    to_labels = np.array([*tier_names, CLOSED], dtype=object)
    movement = np.select(
        [f == 0, to == T, to > f - 1, to < f - 1], ["new", "closed", "up", "down"], default="same"
    )
    out = pd.DataFrame(
        {
            "branch_id": counts["branch_id"].astype("object"),
            "period": np.full(len(counts), period, dtype=object),
            "from_tier": from_labels[f],
            "to_tier": to_labels[to],
            "movement": movement.astype(object),
            "customers": counts["customers"].to_numpy(dtype=np.int64),
        }
    )
    return out[COLUMNS]
