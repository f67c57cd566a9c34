"""The features stage's computation: the period's customer mart and what is built on it.

Pure over an engine with the canonical tables: `build_period` gives the four outputs of
`crm features` (customer_features: one row per customer per period; tier_migration:
branch x from_tier x to_tier; branch_kpis: branch x period plus a network row; lorenz:
Lorenz points per branch and network-wide) and the notes an analyst should read with
them. `customer_features` and `customer_measures` are the mart at any month end, the
door other stages use (churn training builds earlier marts, drift earlier measures).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from pipeline.engine import Engine
from pipeline.features.customer import customer_aum, customer_features, customer_measures
from pipeline.features.kpis import compute_branch_outputs
from pipeline.features.migration import compute_tier_migration
from pipeline.features.settings import FeatureSettings
from pipeline.features.sources import balance_snapshot, revenue_recorded
from pipeline.features.tiers import assign_tiers
from pipeline.periods import as_of_date, previous_period
from pipeline.steps import Step, run_steps

__all__ = ["PeriodFeatures", "build_period", "customer_features", "customer_measures"]


@dataclass(frozen=True)
class PeriodFeatures:
    features: pd.DataFrame
    tier_migration: pd.DataFrame
    branch_kpis: pd.DataFrame
    lorenz: pd.DataFrame
    notes: tuple[str, ...]


def previous_tiers(engine: Engine, as_of: dt.date, s: FeatureSettings) -> pd.DataFrame:
    """customer_id, branch_id, status, tier at an earlier as-of date, from data up to it."""
    prev = customer_aum(engine, as_of)
    prev["tier"] = assign_tiers(prev["aum"], s.tier_names, s.tier_min_aum)
    return prev


def data_notes(engine: Engine, as_of: dt.date, s: FeatureSettings) -> list[str]:
    """Facts about the inputs an analyst should know when reading this period's numbers."""
    notes = []
    snapshot = balance_snapshot(engine, as_of)
    if snapshot is None:
        notes.append(f"no balances on or before {as_of}: AUM is 0 for everyone")
    elif (snapshot.year, snapshot.month) != (as_of.year, as_of.month):
        notes.append(f"latest balances are from {snapshot}, not the period's month")
    if s.rfm_monetary == "revenue" and not revenue_recorded(engine, as_of):
        notes.append(
            "no revenue on customer-initiated transactions up to the as-of date: "
            "RFM monetary uses amount"
        )
    cols = engine.columns("customers")
    if "status" in cols:
        close = "close_date IS NULL" if "close_date" in cols else "TRUE"
        undated = engine.rows(
            f"SELECT count(*) FROM customers WHERE status = 'closed' AND {close}"
        )[0][0]
        if undated:
            notes.append(
                f"{undated} customers have status closed but no close_date: counted as open"
            )
    return notes


def build_period(
    engine: Engine, period: str, s: FeatureSettings, workers: int = 1
) -> PeriodFeatures:
    """Every output of the stage for one period, from the canonical tables on `engine`."""
    features = customer_features(engine, as_of_date(period), s)
    return period_outputs(engine, features, period, s, workers)


def period_notes(
    engine: Engine, features: pd.DataFrame, as_of: dt.date, s: FeatureSettings
) -> tuple[str, ...]:
    """data_notes, with what the mart itself says (nobody open, rules matching nobody)."""
    notes = data_notes(engine, as_of, s)
    if features.empty:
        notes.insert(0, f"no customers open on {as_of}: is the period right?")
    unmatched = int((features["rfm_segment"] == s.unmatched_segment).sum())
    if unmatched:
        notes.append(f"{unmatched} customers match no rfm.segments rule: {s.unmatched_segment}")
    return tuple(notes)


# What is built around the period's mart, as steps (pipeline.steps): the previous
# month's tiers (a scan on the engine) can run beside the KPIs (pandas, one core).
PERIOD_STEPS = (
    Step("previous_tiers", previous_tiers, ("engine", "previous_as_of", "settings")),
    Step(
        "branch_outputs",
        compute_branch_outputs,
        ("features", "settings", "period", "as_of"),
        outputs=("branch_kpis", "lorenz"),
    ),
    Step(
        "tier_migration",
        compute_tier_migration,
        ("previous_tiers", "features", "tier_names", "period"),
    ),
    Step("notes", period_notes, ("engine", "features", "as_of", "settings")),
)


def period_outputs(
    engine: Engine, features: pd.DataFrame, period: str, s: FeatureSettings, workers: int = 1
) -> PeriodFeatures:
    """The period's migration, KPIs, Lorenz points and notes around its feature mart."""
    given = {
        "engine": engine,
        "features": features,
        "settings": s,
        "period": period,
        "as_of": as_of_date(period),
        "previous_as_of": as_of_date(previous_period(period)),
        "tier_names": s.tier_names,
    }
    keep = ("tier_migration", "branch_kpis", "lorenz", "notes")
    out = run_steps(PERIOD_STEPS, given, keep, workers)
    return PeriodFeatures(features, *(out[k] for k in keep))
