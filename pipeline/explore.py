"""Helpers the exploratory notebooks (notebooks/*.ipynb) share: which period's processed
data to open, and the tables an analyst builds first. Pure functions over the stages'
outputs, so they are tested here rather than re-typed in every notebook."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from pipeline.catalog import Catalog
from pipeline.config import load_config
from pipeline.periods import parse_period


def notebook_period(env: Mapping[str, str] | None = None) -> tuple[dict[str, Any], Catalog, str]:
    """(config, catalog, period) for a notebook: the data root from CRM_DATA_DIR (as the
    CLI), the period from CRM_PERIOD, else the config's, else the latest complete month
    ingested -- the same rule as `crm period`."""
    env = os.environ if env is None else env
    cfg = load_config(env=env)
    catalog = Catalog.from_config(cfg)
    period = env.get("CRM_PERIOD") or None
    if period:
        parse_period(period)
    return cfg, catalog, catalog.period(period, cfg["period"])


def tier_summary(features: pd.DataFrame, tier_names: Sequence[str]) -> pd.DataFrame:
    """One row per tier (config order): customers, their share, AUM, its share, mean and
    median AUM, dormant share and the share with a relationship manager."""
    grouped = features.groupby("tier", observed=False)
    out = pd.DataFrame(
        {
            "customers": grouped.size(),
            "aum": grouped["aum"].sum(),
            "mean_aum": grouped["aum"].mean(),
            "median_aum": grouped["aum"].median(),
            "dormant_share": grouped["dormant"].mean(),
            "has_rm_share": grouped["rm_id"].agg(lambda s: s.notna().mean()),
        }
    ).reindex(list(tier_names))
    out["customers"] = out["customers"].fillna(0).astype(int)
    out["aum"] = out["aum"].fillna(0.0)
    out.insert(1, "customer_share", out["customers"] / max(int(out["customers"].sum()), 1))
    total_aum = float(out["aum"].sum())
    out.insert(3, "aum_share", out["aum"] / total_aum if total_aum else np.nan)
    out.index.name = "tier"
    return out


def segment_by_tier(
    features: pd.DataFrame, tier_names: Sequence[str], value: str = "customers"
) -> pd.DataFrame:
    """RFM segment x tier: customer counts (value="customers") or AUM (value="aum"),
    with a total row and column; segments by size, tiers in config order."""
    if value == "customers":
        table = pd.crosstab(features["rfm_segment"], features["tier"])
    elif value == "aum":
        table = features.pivot_table(
            index="rfm_segment", columns="tier", values="aum", aggfunc="sum", fill_value=0.0
        )
    else:
        raise ValueError(f"value must be customers or aum, got {value!r}")
    table = table.reindex(columns=list(tier_names), fill_value=0)
    table["total"] = table.sum(axis=1)
    table = table.sort_values("total", ascending=False, kind="stable")
    table.loc["total"] = table.sum(axis=0)
    table.columns.name, table.index.name = "tier", "rfm_segment"
    return table


def holdout_by_frequency(model_card: dict[str, Any]) -> pd.DataFrame:
    """The CLV holdout check by calibration-period repeat frequency (the model card's
    clv_validation.by_calibration_frequency): customers, actual and predicted mean holdout
    transactions (model and naive baseline), and model minus actual. Empty when the
    validation did not run."""
    rows = (model_card.get("clv_validation") or {}).get("by_calibration_frequency") or []
    columns = ["calibration_frequency", "customers", "actual_mean", "model_mean", "baseline_mean"]
    table = pd.DataFrame(rows, columns=columns)
    table["model_minus_actual"] = table["model_mean"] - table["actual_mean"]
    return table


def driver_correlations(
    scores: pd.DataFrame, drivers: Sequence[str], outcomes: Sequence[str]
) -> pd.DataFrame:
    """Pearson and Spearman correlation of every driver dimension with every outcome
    (overall satisfaction, NPS), over respondents who answered both; with n."""
    rows = []
    for outcome in outcomes:
        for driver in drivers:
            pair = scores[[driver, outcome]].astype(float).dropna()
            n = len(pair)
            x, y = pair[driver], pair[outcome]
            defined = n >= 3 and x.std() > 0 and y.std() > 0
            rows.append(
                {
                    "outcome": outcome,
                    "driver": driver,
                    "n": n,
                    "pearson_r": float(x.corr(y)) if defined else np.nan,
                    "spearman_rho": float(x.corr(y, method="spearman")) if defined else np.nan,
                }
            )
    return pd.DataFrame(rows, columns=["outcome", "driver", "n", "pearson_r", "spearman_rho"])
