"""Branch KPIs month by month: the trend a branch head reads beside this month's figure.

Grain of branch_history: one row per scope (each branch, then the network) per month,
for the `features.history_months` months ending with the period: every branch_kpis
column, plus the attrition the bank's churn definition observed in the window of
`churn.horizon_months` ending that month (pipeline.features.attrition):
attrition_customers (customers labelled: open, with AUM for silent attrition, at the
window's start), attrition_churners and attrition_rate (their share; null when nobody
was labelled).

A month's KPIs come from where they already are, in this order: this period's (just
computed), the month's own stored branch_kpis (it was run), the previous period's
history; only a month found nowhere is computed, from the canonical tables as of its
month end, exactly as `crm features` would (compute_branch_kpis on the mart's columns it
reads: customer.kpi_features).
So a first run backfills the months never run, and a monthly run computes nothing but
its own month's attrition. `source` says which: "stored" (a period that was run) or
"computed".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from pipeline.engine import Engine
from pipeline.features.attrition import ChurnDefinition, end_snapshot, label_window
from pipeline.features.customer import customer_aum, kpi_features
from pipeline.features.kpis import compute_branch_kpis
from pipeline.features.settings import FeatureSettings
from pipeline.periods import as_of_date, month_end, previous_period
from pipeline.steps import ENGINE, Step, run_steps

ATTRITION = ("attrition_customers", "attrition_churners", "attrition_rate")
SOURCES = ("stored", "computed")


@dataclass(frozen=True)
class HistorySettings:
    """How many months of trend, and the churn definition attrition is counted by."""

    months: int
    definition: str
    horizon_months: int
    aum_drop_share: float
    inactive_in_window: bool

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> HistorySettings:
        c = cfg["churn"]
        return cls(
            months=int(cfg["features"]["history_months"]),
            definition=str(c["definition"]),
            horizon_months=int(c["horizon_months"]),
            aum_drop_share=float(c["aum_drop_share"]),
            inactive_in_window=bool(c["inactive_in_window"]),
        )


def history_periods(period: str, months: int) -> list[str]:
    """The `months` periods ending with `period`, oldest first."""
    return [previous_period(period, k) for k in range(months - 1, -1, -1)]


def branch_attrition(engine: Engine, period: str, c: ChurnDefinition, horizon: int) -> pd.DataFrame:
    """scope, branch_id and the attrition columns for the window (period - horizon,
    period]: who of those labelled at the window's start left by its end (null where the
    balances hold no snapshot at its end: an AUM fall cannot be seen)."""
    end = as_of_date(period)
    start = month_end(end, horizon)
    population = customer_aum(engine, start)
    if c.definition != "closed" and not end_snapshot(engine, end):
        branches = sorted(population["branch_id"].dropna().astype(str).unique())
        unknown = [_attrition("branch", b, None, None) for b in branches]
        return pd.DataFrame([*unknown, _attrition("network", None, None, None)])
    labels = label_window(engine, population, start, end, c)
    rows = labels["row"].to_numpy(dtype=np.int64)
    codes, branches = pd.factorize(population["branch_id"], sort=True)  # -1: no branch_id
    # each branch's labelled and churned customers in one pass, not a text mask per branch
    mine = codes[rows]
    churned = labels["churned"].to_numpy(dtype=bool)
    labelled = np.bincount(mine[mine >= 0], minlength=len(branches))
    left = np.bincount(mine[(mine >= 0) & churned], minlength=len(branches))
    out = [
        _attrition("branch", str(b), int(labelled[k]), int(left[k])) for k, b in enumerate(branches)
    ]
    out.append(_attrition("network", None, len(rows), int(churned.sum())))
    return pd.DataFrame(out)


def _attrition(scope: str, branch: str | None, n: int | None, left: int | None) -> dict[str, Any]:
    return {
        "scope": scope,
        "branch_id": branch,
        "attrition_customers": n,
        "attrition_churners": left,
        "attrition_rate": left / n if n else np.nan,
    }


def _rows(frame: pd.DataFrame | None, period: str) -> pd.DataFrame | None:
    if frame is None or frame.empty:
        return None
    part = frame[frame["period"].astype(str) == period]
    return part if len(part) else None


def _key(frame: pd.DataFrame) -> pd.Series:
    return frame["scope"].astype(str) + "|" + frame["branch_id"].fillna("").astype(str)


def _with_attrition(kpis: pd.DataFrame, attrition: pd.DataFrame) -> pd.DataFrame:
    """The KPI rows with the attrition columns of the same scope and branch."""
    by_key = attrition.assign(_k=_key(attrition)).set_index("_k")
    keys = _key(kpis)
    out = kpis.drop(columns=[c for c in ATTRITION if c in kpis.columns]).copy()
    for col in ATTRITION:
        out[col] = keys.map(by_key[col]).to_numpy()
    return out


def month_kpis(engine: Engine, month: str, s: FeatureSettings) -> pd.DataFrame:
    """The branch KPIs of a month never run, as `crm features` would have computed them."""
    as_of = as_of_date(month)
    return compute_branch_kpis(kpi_features(engine, as_of, s), s, month, as_of)


def branch_history(
    engine: Engine,
    period: str,
    current: pd.DataFrame,
    stored: Mapping[str, pd.DataFrame],
    previous: pd.DataFrame | None,
    s: FeatureSettings,
    h: HistorySettings,
    workers: int = 1,
    first_month: str | None = None,
) -> pd.DataFrame:
    """The history of `period`: `current` is its branch_kpis, `stored` the branch_kpis of
    earlier periods that were run (by period), `previous` the previous period's history
    (None: none). See the module docstring for where each month comes from. What must
    be computed is one step per month (pipeline.steps): with `workers` > 1, months side
    by side (the engine must then give cursors: pipeline.engine's connect does). Months
    before `first_month` (the data's first, YYYY-MM) have no row: computed, every AUM and
    activity measure would be 0, and the first month of data would read as growth from
    nothing."""
    months = history_periods(period, h.months)
    if first_month is not None:
        months = [m for m in months if m >= first_month]
    reused = {month: _rows(previous, month) for month in months}
    steps = [
        Step(f"kpis_{m}", lambda engine, m=m: month_kpis(engine, m, s), (ENGINE,))
        for m in months
        if m != period and m not in stored and reused[m] is None
    ]
    steps += [
        Step(
            f"attrition_{m}",
            lambda engine, m=m: branch_attrition(engine, m, h, h.horizon_months),
            (ENGINE,),
        )
        for m in months
        if m == period or reused[m] is None or not reused[m]["attrition_rate"].notna().any()
    ]
    computed = run_steps(steps, {ENGINE: engine}, [step.name for step in steps], workers)
    parts = []
    for month in months:
        if month == period:
            kpis, source = current, "stored"
        elif month in stored:
            kpis, source = stored[month], "stored"
        elif reused[month] is not None:
            kpis, source = reused[month], str(reused[month]["source"].iloc[0])
        else:
            kpis, source = computed[f"kpis_{month}"], "computed"
        attrition = computed.get(f"attrition_{month}")
        if attrition is None:
            attrition = reused[month][["scope", "branch_id", *ATTRITION]]
        part = _with_attrition(kpis, attrition)
        part["period"] = month
        part["source"] = source
        parts.append(part)
    columns = list(dict.fromkeys([*current.columns, *ATTRITION, "source"]))
    out = pd.concat([p.reindex(columns=columns) for p in parts], ignore_index=True)
    out["branch_id"] = out["branch_id"].astype("object").where(out["branch_id"].notna(), None)
    out["as_of_date"] = out["period"].map(lambda p: as_of_date(p)).astype("object")
    out["attrition_customers"] = out["attrition_customers"].astype("Int64")
    out["attrition_churners"] = out["attrition_churners"].astype("Int64")
    out["attrition_rate"] = out["attrition_rate"].astype("float64")
    return out
