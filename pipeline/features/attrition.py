"""The bank's churn definition as an outcome: who left in a window of month ends.

A label window is (start, end], both month ends. The population is every customer open
at `start` (the features mart at start, less those already closed in start's month).

- definition `closed`: churned when close_date falls in (start, end].
- definition `silent_attrition`: churned when AUM at the end snapshot (latest balance
  month end <= end; no balance row = 0) is at most (1 - churn.aum_drop_share) x AUM at
  start, and, when churn.inactive_in_window, no customer-initiated transaction falls in
  (start, end]; or when close_date falls in (start, end]: a customer who closed left,
  though the closing withdrawal broke the silence (and the score stage puts a closed
  customer's probability of leaving at 1). A customer without AUM at start cannot lose a
  share of it: not labelled (left out of training and evaluation, still scored). AUM is
  summed and compared as exact decimals: a fall of exactly the share counts.
- `end_snapshot`: whether the balances hold the end's month end at all; without it the
  end AUM would be an older snapshot's and nobody could be seen to leave (callers say
  so rather than label).

The score stage trains its churn model on these labels (pipeline.scoring.churn); the
features stage counts them per branch as the attrition rate a branch head watches
(pipeline.features.history). One definition, written here once.
"""

from __future__ import annotations

from datetime import date
from typing import Protocol

import numpy as np
import pandas as pd
import pyarrow as pa

from pipeline.engine import Engine
from pipeline.periods import day_after
from pipeline.schema import ASSET_PRODUCTS

MONEY = "DECIMAL(38,4)"  # as the mart sums AUM (pipeline.features.sources)


class ChurnDefinition(Protocol):
    """What labels need of the churn settings (scoring's ChurnSettings has these)."""

    definition: str
    aum_drop_share: float
    inactive_in_window: bool


def _arrow(text: pd.Series) -> pa.Array:
    return pa.array(text, type=pa.large_string(), from_pandas=True)


def end_snapshot(engine: Engine, end: date) -> bool:
    """Whether the balances hold a snapshot at the month end `end` (AUM-based labels of a
    window ending there need one)."""
    return bool(engine.rows("SELECT count(*) FROM balances WHERE month_end = ?", [end])[0][0])


def label_window(
    engine: Engine, features_start: pd.DataFrame, start: date, end: date, c: ChurnDefinition
) -> pd.DataFrame:
    """customer_id, churned (bool) and row (the customer's position in `features_start`)
    for the labelled population of (start, end], by customer_id."""
    ids = features_start["customer_id"].astype(str)
    rows = np.flatnonzero((features_start["status"] != "closed").to_numpy())
    # ids go to the engine in Arrow and only labels and rows come back: a million ids as
    # Python strings each way cost most of a second
    pop = pa.table(
        {
            "customer_id": _arrow(ids).take(rows),
            "aum": features_start["aum"].to_numpy(dtype="float64")[rows],
            "row": rows,
        }
    )
    # a name of this window's own: on Spark, registered tables are seen by every cursor
    view = f"_churn_pop_{start:%Y%m%d}_{end:%Y%m%d}"
    engine.register(view, pop)
    try:
        if c.definition == "closed":
            sql = f"""
                SELECT coalesce(c.close_date > ? AND c.close_date <= ?, FALSE) AS churned, p.row
                FROM {view} p LEFT JOIN customers c USING (customer_id)
                ORDER BY p.customer_id
            """
            out = engine.frame(sql, [start, end])
        else:
            assets = ", ".join(f"'{p}'" for p in ASSET_PRODUCTS)
            keep = f"CAST({round(1 - c.aum_drop_share, 8)!r} AS DECIMAL(12,8))"
            closed, customers = "FALSE", ""
            if engine.has_table("customers") and "close_date" in engine.columns("customers"):
                closed = "coalesce(c.close_date > ? AND c.close_date <= ?, FALSE)"
                customers = "LEFT JOIN customers c USING (customer_id)"
            sql = f"""
                WITH snap AS (SELECT max(month_end) AS m FROM balances WHERE month_end <= ?),
                end_aum AS (
                    SELECT customer_id, sum(CAST(balance AS {MONEY})) AS aum_end FROM balances
                    WHERE month_end = (SELECT m FROM snap) AND product IN ({assets})
                    GROUP BY customer_id
                ),
                active AS (
                    SELECT DISTINCT customer_id FROM transactions
                    WHERE customer_initiated AND txn_time >= ? AND txn_time < ?
                )
                SELECT (coalesce(e.aum_end, 0) <= {keep} * CAST(p.aum AS {MONEY})
                        AND (NOT ? OR a.customer_id IS NULL)) OR {closed} AS churned, p.row
                FROM {view} p
                LEFT JOIN end_aum e USING (customer_id)
                LEFT JOIN active a USING (customer_id)
                {customers}
                WHERE p.aum > 0
                ORDER BY p.customer_id
            """
            params = [end, day_after(start), day_after(end), c.inactive_in_window]
            if customers:
                params += [start, end]
            out = engine.frame(sql, params)
    finally:
        engine.unregister(view)
    row = out["row"].to_numpy(dtype="int64")
    return pd.DataFrame(
        {
            "customer_id": ids.take(row).array,
            "churned": out["churned"].to_numpy(dtype=bool),
            "row": row,
        }
    )
