"""Relationship managers' books: what each RM holds, what is at stake, whom to call.

- rm_books.parquet: one row per (branch, RM): customers (active) in total and per tier,
  the CLV they hold, their value at risk, the share contacted within
  features.rm_contact_days, and how many are on this month's call list.
- a call list per RM: the RM's active customers with the most value at risk, at most
  value_risk.rm_monthly_calls of them (an RM's month has room for so many calls).
- a branch's unassigned list: active customers who should have an RM -- of a tier that
  should (rm_tiers), or high value whatever their tier -- and have none, all of them, by
  value at risk, flagged "assign an RM": assigning them comes before anyone can call.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from pipeline.scoring.value_risk import ROUNDING, last_contact, ranked_by_value_at_risk

CALL_LIST_COLUMNS = [
    "branch_id",
    "rm_id",
    "rank",
    "customer_id",
    "tier",
    "aum",
    "monthly_profit",
    "clv",
    "churn_probability",
    "value_at_risk",
    "high_value",
    "reason_codes",
    "last_contact_date",
]
UNASSIGNED_COLUMNS = [
    "branch_id",
    "rank",
    "customer_id",
    "tier",
    "aum",
    "monthly_profit",
    "clv",
    "churn_probability",
    "value_at_risk",
    "high_value",
    "action",
    "reason_codes",
    "last_contact_date",
]
ASSIGN = "assign an RM"


def _has_rm(scores: pd.DataFrame) -> np.ndarray:
    rm = scores["rm_id"]
    return (rm.notna() & (rm.astype(str).str.strip() != "")).to_numpy()


def call_lists(
    scores: pd.DataFrame, as_of: date, capacity: int
) -> dict[tuple[str, str], pd.DataFrame]:
    """(branch_id, rm_id) -> the RM's call list, by value at risk, at most `capacity`."""
    ranked = ranked_by_value_at_risk(scores[_has_rm(scores)], as_of)
    out = {}
    for (branch, rm), part in ranked.groupby(
        [ranked["branch_id"].astype(str), ranked["rm_id"].astype(str)], sort=True
    ):
        top = part.head(capacity)
        top = top.assign(rank=np.arange(1, len(top) + 1)).round(ROUNDING)
        out[(branch, rm)] = top[CALL_LIST_COLUMNS].reset_index(drop=True)
    return out


def unassigned(
    scores: pd.DataFrame, as_of: date, rm_tiers: tuple[str, ...]
) -> dict[str, pd.DataFrame]:
    """branch_id -> its active customers without an RM who should have one (an RM-managed
    tier, or high value), by value at risk (those with none at risk last), every branch
    in the scores (possibly empty)."""
    should = scores["tier"].isin(rm_tiers).to_numpy() | scores["high_value"].to_numpy(dtype=bool)
    want = (scores["status"] == "active").to_numpy() & should & ~_has_rm(scores)
    part = scores[want].assign(last_contact_date=lambda f: last_contact(f, as_of), action=ASSIGN)
    part = part.sort_values(["value_at_risk", "clv", "customer_id"], ascending=[False, False, True])
    out = {}
    for branch in sorted(scores["branch_id"].dropna().astype(str).unique()):
        b = part[part["branch_id"].astype(str) == branch]
        b = b.assign(rank=np.arange(1, len(b) + 1)).round(ROUNDING)
        out[branch] = b[UNASSIGNED_COLUMNS].reset_index(drop=True)
    return out


def rm_books(
    scores: pd.DataFrame,
    calls: dict[tuple[str, str], pd.DataFrame],
    tiers: tuple[str, ...],
    contact_days: int,
    period: str,
) -> pd.DataFrame:
    """rm_books.parquet: one row per (branch_id, rm_id) with active customers."""
    active = scores[(scores["status"] == "active").to_numpy() & _has_rm(scores)].copy()
    active["branch_id"] = active["branch_id"].astype(str)
    active["rm_id"] = active["rm_id"].astype(str)
    days = active["days_since_rm_contact"].astype("float64")
    active["contacted"] = (days <= contact_days).to_numpy()
    keys = ["branch_id", "rm_id"]
    grouped = active.groupby(keys, sort=True)
    book = grouped.agg(
        customers=("customer_id", "size"),
        high_value_customers=("high_value", "sum"),
        clv=("clv", "sum"),
        value_at_risk=("value_at_risk", "sum"),
        contacted_share=("contacted", "mean"),
    )
    by_tier = active.pivot_table(
        index=keys, columns="tier", values="customer_id", aggfunc="size", fill_value=0
    )
    for tier in tiers:
        book[f"customers__{tier}"] = (
            by_tier[tier].reindex(book.index, fill_value=0) if tier in by_tier else 0
        )
    book["call_list"] = [len(calls.get(key, ())) for key in book.index]
    book = book.reset_index()
    book.insert(0, "period", period)
    return book.astype({"high_value_customers": "int64", "customers": "int64"})
