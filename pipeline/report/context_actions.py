"""The action pages: whom to give an RM first, the watchlist, and one page per RM (book,
value at risk, this month's call list within the RM's capacity).

Pure over the score stage's lists (watchlist-, unassigned-, calls-<branch>-<rm>.csv and
rm_books.parquet), already one branch's; reasons are worded here in the report's
language (pipeline/report/reasons.py). Rows keep the score stage's order.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import pandas as pd

from pipeline.report.context_scores import _num
from pipeline.report.reasons import ReasonWords

DO_NOT_CALL = "do not call"  # a call list's action (pipeline.scoring.books.DO_NOT_CALL)
UNASSIGNED_SHOWN = 15  # rows of the "assign an RM" page; the download holds them all


SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def file_part(name: str) -> str:
    """An id as part of a file name: itself when it is plain letters, digits, dots,
    dashes and underscores, else a stable stand-in ("id-" and 10 hex digits of its
    sha256) -- an id never makes a path or a name a browser cannot follow."""
    if SAFE_NAME.match(name):
        return name
    return "id-" + hashlib.sha256(name.encode("utf-8")).hexdigest()[:10]


def download_names(branch_id: str, rm_ids: list[str]) -> dict[str, str]:
    """The file stem of each list a branch report links to (downloads/<stem>.csv|xlsx)."""
    branch = file_part(branch_id)
    names = {"watchlist": f"watchlist-{branch}", "unassigned": f"unassigned-{branch}"}
    names.update({f"calls:{rm}": f"calls-{branch}-{file_part(rm)}" for rm in rm_ids})
    return names


def _contact(value: Any) -> str | None:
    return None if value is None or pd.isna(value) else str(value)[:10]


def _text(value: Any) -> str | None:
    return None if value is None or pd.isna(value) or str(value).strip() == "" else str(value)


def action_rows(frame: pd.DataFrame, words: ReasonWords) -> list[dict[str, Any]]:
    """The rows of a list a branch acts on, in the score stage's order."""
    rows = []
    for rec in frame.to_dict("records"):
        rows.append(
            {
                "rank": None if pd.isna(rec["rank"]) else int(rec["rank"]),  # none: not to call
                "customer_id": str(rec["customer_id"]),
                "rm_id": _text(rec.get("rm_id")),
                "tier": str(rec["tier"]),
                "aum": _num(rec.get("aum")),
                "monthly_profit": _num(rec.get("monthly_profit")),
                "clv": _num(rec.get("clv")),
                "churn_probability": _num(rec.get("churn_probability")),
                "value_at_risk": _num(rec.get("value_at_risk")),
                "high_value": bool(rec.get("high_value")),
                "reasons": words.phrases(_text(rec.get("reason_codes"))),
                "last_contact": _contact(rec.get("last_contact_date")),
                "contact_effect": _num(rec.get("contact_effect")),
                "value_saved": _num(rec.get("value_saved")),
                "do_not_call": rec.get("action") == DO_NOT_CALL,
            }
        )
    return rows


def unassigned_page(unassigned: pd.DataFrame, words: ReasonWords) -> dict[str, Any]:
    """How many should have an RM and have none (of them high value), and the first
    UNASSIGNED_SHOWN in the score stage's order (high-value customers first)."""
    return {
        "customers": float(len(unassigned)),
        "high_value": float(unassigned["high_value"].astype(bool).sum())
        if len(unassigned)
        else 0.0,
        "value_at_risk": float(unassigned["value_at_risk"].sum()) if len(unassigned) else 0.0,
        "shown": float(min(len(unassigned), UNASSIGNED_SHOWN)),
        "rows": action_rows(unassigned.head(UNASSIGNED_SHOWN), words),
    }


def rm_pages(
    books: pd.DataFrame,
    calls: dict[str, pd.DataFrame],
    tiers: tuple[str, ...],
    capacity: int,
    words: ReasonWords,
) -> list[dict[str, Any]]:
    """One page per RM of the branch, most value at risk first: the book (customers by
    tier, high value, CLV held, value at risk, share contacted recently) and the call
    list (`calls` by rm_id) against the RM's monthly capacity."""
    ordered = books.sort_values(["value_at_risk", "rm_id"], ascending=[False, True])
    pages = []
    for r in ordered.to_dict("records"):
        rm = str(r["rm_id"])
        call_list = calls.get(rm)
        listed = [] if call_list is None else action_rows(call_list, words)
        rows = [x for x in listed if not x["do_not_call"]]
        pages.append(
            {
                "rm_id": rm,
                "customers": float(r["customers"]),
                "by_tier": [
                    {"tier": t, "customers": float(r.get(f"customers__{t}", 0) or 0)} for t in tiers
                ],
                "high_value": float(r["high_value_customers"]),
                "clv": float(r["clv"]),
                "value_at_risk": float(r["value_at_risk"]),
                "contacted": _num(r["contacted_share"]),
                "calls": rows,
                "do_not_call": [x for x in listed if x["do_not_call"]],
                "expected_value_saved": _num(r.get("expected_value_saved")),
                "capacity": float(capacity),
                "call_value_at_risk": float(
                    sum(x["value_at_risk"] for x in rows if isinstance(x["value_at_risk"], float))
                ),
            }
        )
    return pages
