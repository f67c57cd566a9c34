"""Relationship managers' books: what each RM holds, what is at stake, whom to call.

- rm_books.parquet: one row per (branch, RM): customers (active) in total and per tier,
  the CLV they hold, their value at risk, the share contacted within
  features.rm_contact_days, how many are on this month's call list, how many are
  marked "do not call", and the value the list's calls are expected to save.
- a call list per RM, at most value_risk.rm_monthly_calls customers to call (an RM's
  month has room for so many calls): when the contact-effect model ranks the lists
  (pipeline.scoring.calls), the RM's active customers a contact is expected to save the
  most value for (value_saved > 0, largest first), followed by the customers among the
  RM's top by value at risk whom a contact is estimated to push away (do_not_call: their
  segment's relative effect below 0 with 95% confidence) -- "do not call", unranked;
  otherwise the customers with the most value at risk.
- a branch's unassigned list: active customers who should have an RM -- of a tier that
  should (rm_tiers), or high value whatever their tier -- and have none, all of them,
  high-value customers first and each part by value at risk, flagged "assign an RM":
  assigning them comes before anyone can call.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from pipeline.contacts import contacted_within
from pipeline.scoring.calls import RANKING_EFFECT, ContactEffects
from pipeline.scoring.value_risk import (
    as_listed,
    branch_ids,
    last_contact,
    ranked_by_value_at_risk,
    split_by,
)

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
    "contact_effect",
    "value_saved",
    "action",
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
CALL = "call"
DO_NOT_CALL = "do not call"


def _has_rm(scores: pd.DataFrame) -> np.ndarray:
    rm = scores["rm_id"]
    return (rm.notna() & (rm.astype(str).str.strip() != "")).to_numpy()


def _by_rm(frame: pd.DataFrame) -> list[pd.Series]:
    return [frame["branch_id"].astype(str), frame["rm_id"].astype(str)]


def call_lists(
    scores: pd.DataFrame, as_of: date, capacity: int, effects: ContactEffects
) -> dict[tuple[str, str], pd.DataFrame]:
    """(branch_id, rm_id) -> the RM's call list (see the module): ranked by expected
    value saved when the contact effect ranks the lists, else by value at risk. Every
    RM with active customers (a row of rm_books) has one, empty when none of them has
    value at risk (no churn model nor P(alive), say): the report reads them all."""
    with_rm = scores[_has_rm(scores)]
    active = with_rm[(with_rm["status"] == "active").to_numpy()]
    books = sorted(
        set(zip(active["branch_id"].astype(str), active["rm_id"].astype(str), strict=True))
    )
    ranked = ranked_by_value_at_risk(with_rm)
    if effects.ranking == RANKING_EFFECT:
        listed = _by_value_saved(ranked, capacity)
    else:
        listed = ranked.groupby(_by_rm(ranked), sort=False).head(capacity).assign(action=CALL)
    listed = listed.assign(last_contact_date=last_contact(listed, as_of))
    call = (listed["action"] == CALL).to_numpy()
    rank = pd.Series(call.astype(int), index=listed.index).groupby(_by_rm(listed)).cumsum()
    listed = listed.assign(rank=pd.array(np.where(call, rank, np.nan), dtype="Int64"))
    parts = split_by(as_listed(listed), ["branch_id", "rm_id"], books)
    return {book: part[CALL_LIST_COLUMNS].reset_index(drop=True) for book, part in parts.items()}


def _by_value_saved(ranked: pd.DataFrame, capacity: int) -> pd.DataFrame:
    """Each RM's customers (`ranked`: by value at risk) to call, by expected value saved,
    then the "do not call" ones among the RM's top `capacity` by value at risk; an RM's
    rows in that order (the RMs interleaved)."""
    effect = ranked["contact_effect"].to_numpy(dtype=float)
    saved = ranked["value_saved"].to_numpy(dtype=float)
    worth = (effect > 0) & (saved > 0)  # NaN compares False: no estimate, not listed
    calls = ranked[worth].sort_values(["value_saved", "customer_id"], ascending=[False, True])
    calls = calls.groupby(_by_rm(calls), sort=False).head(capacity)
    harmful = ranked.groupby(_by_rm(ranked), sort=False).head(capacity)
    harmful = harmful[harmful["do_not_call"].to_numpy(dtype=bool)]
    return pd.concat([calls.assign(action=CALL), harmful.assign(action=DO_NOT_CALL)])


def unassigned(
    scores: pd.DataFrame, as_of: date, rm_tiers: tuple[str, ...]
) -> dict[str, pd.DataFrame]:
    """branch_id -> its active customers without an RM who should have one (an RM-managed
    tier, or high value), in the order to assign them: high-value customers first, each
    part by value at risk (those with none at risk last), ranked 1..n in that order; every
    branch in the scores (possibly empty). Where no customer of the bank has an RM its
    exports hold no RM assignment (Berka, a card-spend export): who lacks one is not
    known, every list is empty -- as the report says -- rather than every customer."""
    should = scores["tier"].isin(rm_tiers).to_numpy() | scores["high_value"].to_numpy(dtype=bool)
    has_rm = _has_rm(scores)
    want = (scores["status"] == "active").to_numpy() & should & ~has_rm & has_rm.any()
    part = scores[want].assign(last_contact_date=lambda f: last_contact(f, as_of), action=ASSIGN)
    part = part.assign(_later=~part["high_value"].to_numpy(dtype=bool)).sort_values(
        ["_later", "value_at_risk", "clv", "customer_id"], ascending=[True, False, False, True]
    )
    branches = branch_ids(scores)
    out = {}
    for branch, b in split_by(part, ["branch_id"], branches).items():
        b = as_listed(b.assign(rank=np.arange(1, len(b) + 1)))
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
    active["contacted"] = contacted_within(active["days_since_rm_contact"], contact_days)
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
    book["call_list"] = [_count(calls.get(key), CALL) for key in book.index]
    book["do_not_call"] = [_count(calls.get(key), DO_NOT_CALL) for key in book.index]
    book["expected_value_saved"] = [_saved(calls.get(key)) for key in book.index]
    book = book.reset_index()
    book.insert(0, "period", period)
    return book.astype({"high_value_customers": "int64", "customers": "int64"})


def _count(calls: pd.DataFrame | None, action: str) -> int:
    return 0 if calls is None else int((calls["action"] == action).sum())


def _saved(calls: pd.DataFrame | None) -> float:
    """The value a list's calls are expected to save (0 when not estimated)."""
    if calls is None:
        return 0.0
    return float(calls.loc[calls["action"] == CALL, "value_saved"].fillna(0.0).sum())
