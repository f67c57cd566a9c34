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

import numpy as np
import pandas as pd

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
    """
    before = previous.loc[previous["status"] == "active", ["customer_id", "branch_id", "tier"]]
    now = current[["customer_id", "branch_id", "status", "tier"]]
    both = before.merge(now, on="customer_id", how="outer", suffixes=("_prev", ""))
    branch = both["branch_id"].where(both["branch_id"].notna(), both["branch_id_prev"])
    from_tier = both["tier_prev"].where(both["tier_prev"].notna(), NEW)
    to_tier = both["tier"].where(both["status"].eq("active"), CLOSED)
    order = {name: i for i, name in enumerate(tier_names)}
    from_pos = from_tier.map(order)
    to_pos = to_tier.map(order)
    movement = np.select(
        [from_tier.eq(NEW), to_tier.eq(CLOSED), to_pos > from_pos, to_pos < from_pos],
        ["new", "closed", "up", "down"],
        default="same",
    )
    pairs = pd.DataFrame(
        {"branch_id": branch, "from_tier": from_tier, "to_tier": to_tier, "movement": movement}
    )
    counts = (
        pairs.groupby(["branch_id", "from_tier", "to_tier", "movement"], sort=False)
        .size()
        .rename("customers")
        .reset_index()
    )
    from_rank = {NEW: -1, **order}
    to_rank = {**order, CLOSED: len(order)}
    counts = counts.assign(
        _f=counts["from_tier"].map(from_rank), _t=counts["to_tier"].map(to_rank)
    ).sort_values(["branch_id", "_f", "_t"], kind="stable")
    counts.insert(1, "period", period)
    counts["customers"] = counts["customers"].astype("int64")
    out = counts[COLUMNS].reset_index(drop=True)
    for col in ("branch_id", "period", "from_tier", "to_tier", "movement"):
        out[col] = out[col].astype("object")
    return out
