"""The closed loop: what happened to the customers on an earlier month's call lists.

For the lists made at an earlier as-of date (`call_action` "call" in that period's
customer_scores), split the listed customers by whether anyone contacted them in the
month after (rm_contacts), and compare how many churned by this as-of date -- the churn
label over (then, now], pipeline.scoring.churn.label_window, so a list one month old
gives an early reading and one churn.horizon_months old the full one. The uncontacted
listed customers are the comparable group: the same ranking chose them all, and what
separated them was an RM's month. Beside the realized difference: what the model
expected a contact to do for them (the mean of their contact_effect, over the horizon).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from pipeline.engine import Engine
from pipeline.keys import is_in
from pipeline.periods import as_of_date, month_end, previous_period
from pipeline.scoring.churn import label_window
from pipeline.scoring.effect import Z95
from pipeline.scoring.effect_data import contacted_after
from pipeline.scoring.settings import ChurnSettings

# The columns of an earlier period's customer_scores the loop reads.
LOOP_COLUMNS = ("customer_id", "branch_id", "status", "aum", "contact_effect", "call_action")


def list_periods(period: str, horizon_months: int) -> list[str]:
    """The earlier periods whose lists are read: last month's, and the one a churn
    horizon back (the same when the horizon is a month)."""
    out = [previous_period(period)]
    back = period
    for _ in range(horizon_months):
        back = previous_period(back)
    return out if back in out else [*out, back]


def rates(churned: np.ndarray) -> dict[str, Any]:
    n = len(churned)
    return {
        "customers": n,
        "churned": int(churned.sum()),
        "churn_rate": float(churned.mean()) if n else None,
    }


def compare(contacted: np.ndarray, churned: np.ndarray, expected: np.ndarray) -> dict[str, Any]:
    """Contacted against not contacted listed customers: churn rates, the difference
    (not contacted less contacted: positive when contacts kept customers) with a 95%
    interval (normal approximation), and the model's expected effect."""
    a, b = churned[contacted], churned[~contacted]
    out = {"contacted": rates(a), "not_contacted": rates(b), "difference": None, "ci": None}
    if len(a) and len(b):
        pa, pb = a.mean(), b.mean()
        half = Z95 * float(np.sqrt(pa * (1 - pa) / len(a) + pb * (1 - pb) / len(b)))
        out["difference"] = float(pb - pa)
        out["ci"] = [float(pb - pa - half), float(pb - pa + half)]
    known = expected[np.isfinite(expected)]
    out["expected_effect"] = float(known.mean()) if len(known) else None
    return out


def closed_loop(
    engine: Engine, lists: dict[str, pd.DataFrame | None], period: str, c: ChurnSettings
) -> list[dict[str, Any]]:
    """One entry per earlier period with call lists (newest first): when, how many
    months of outcome, and the comparison network-wide and by branch."""
    as_of = as_of_date(period)
    out = []
    for earlier, scores in lists.items():
        if scores is None or "call_action" not in scores.columns:
            continue
        listed = scores[(scores["call_action"] == "call") & (scores["status"] == "active")]
        if not len(listed):
            continue
        start = as_of_date(earlier)
        out.append(_entry(engine, listed.reset_index(drop=True), earlier, start, as_of, c))
    return out


def _entry(
    engine: Engine, listed: pd.DataFrame, earlier: str, start: date, as_of: date, c: ChurnSettings
) -> dict[str, Any]:
    labels = label_window(engine, listed, start, as_of, c)
    rows = labels["row"].to_numpy()
    part = listed.iloc[rows].reset_index(drop=True)
    churned = labels["churned"].to_numpy(dtype=bool)
    called = is_in(part["customer_id"], contacted_after(engine, start))
    expected = part["contact_effect"].to_numpy(dtype=float)
    branches = part["branch_id"].astype(str).to_numpy()
    return {
        "lists_period": earlier,
        "outcome": f"({start.isoformat()}, {as_of.isoformat()}]",
        "months": _months(start, as_of),
        "contacted_in": f"({start.isoformat()}, {month_end(start, -1).isoformat()}]",
        "network": compare(called, churned, expected),
        "by_branch": {
            b: compare(called[branches == b], churned[branches == b], expected[branches == b])
            for b in sorted(set(branches))
        },
    }


def _months(start: date, end: date) -> int:
    return (end.year - start.year) * 12 + end.month - start.month
