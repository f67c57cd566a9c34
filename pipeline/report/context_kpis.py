"""Numbers for the KPI, tier, migration, RFM, RM, product and digital sections.

Pure functions over the features stage's frames: each returns the rows a table shows
(one function per table, each tested on hand-made frames). Shares are 0-1; the
templates' filters turn them into text.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from pipeline.contacts import contacted_within
from pipeline.report.environment import NA, NO_PREVIOUS, NotAvailable


@dataclass(frozen=True)
class Kpi:
    """A headline figure: its label key, branch_kpis column, display kind, better direction."""

    label: str
    column: str
    kind: str  # count | money | share | ratio (2 decimals) | average (1 decimal)
    higher_is_better: bool | None


HEADLINE_KPIS: tuple[Kpi, ...] = (
    Kpi("kpi_customers", "customers", "count", True),
    Kpi("kpi_aum", "aum", "money", True),
    Kpi("kpi_new", "new_customers", "count", True),
    Kpi("kpi_closed", "closed_customers", "count", False),
    Kpi("kpi_dormant_share", "dormant_share", "share", False),
    Kpi("kpi_long_tail_share", "long_tail_share", "share", None),
    Kpi("kpi_gini", "gini_aum", "ratio", None),
    Kpi("kpi_top10", "top10_aum_share", "share", None),
    Kpi("kpi_products_per_customer", "products_per_customer", "ratio", True),
    Kpi("kpi_digital_adoption", "digital_adoption", "share", True),
    Kpi("kpi_rm_coverage", "rm_coverage", "share", True),
    Kpi("kpi_rm_contacted", "rm_contact_coverage", "share", True),
    Kpi("kpi_customers_per_rm", "customers_per_rm", "average", None),
)


def kpi_value(row: pd.Series | None, column: str) -> Any:
    """A KPI value, NotAvailable when the row lacks it or holds a null (say, no RMs)."""
    if row is None or column not in row.index:
        return NA
    value = row[column]
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return NA
    return float(value)


def kpi_change(current: Any, previous: Any) -> Any:
    """current - previous; NotAvailable (with previous's reason) when either is absent."""
    if isinstance(previous, NotAvailable):
        return previous
    if isinstance(current, NotAvailable):
        return current
    return current - previous


def headline_kpis(
    kpi: pd.Series,
    network: pd.Series,
    previous: pd.Series | None,
    kpis: Sequence[Kpi] = HEADLINE_KPIS,
) -> list[dict[str, Any]]:
    """One row per headline KPI: this period, previous period, change and network value.

    Without a previous period every previous value and change is NO_PREVIOUS, which
    the template prints as "no previous period" rather than leaving a blank.
    """
    rows = []
    for k in kpis:
        current = kpi_value(kpi, k.column)
        prev = NO_PREVIOUS if previous is None else kpi_value(previous, k.column)
        rows.append(
            {
                "label": k.label,
                "measure": k.column,
                "kind": k.kind,
                "value": current,
                "previous": prev,
                "change": kpi_change(current, prev),
                "network": kpi_value(network, k.column),
                "higher_is_better": k.higher_is_better,
            }
        )
    return rows


def prefixed(row: pd.Series, prefix: str) -> dict[str, float]:
    """`{name: value}` of a KPI row's `<prefix>__<name>` columns (tiers, products); the
    finer `<prefix>__<name>__<tier>` columns are left out."""
    start = f"{prefix}__"
    return {
        c[len(start) :]: row[c]
        for c in row.index
        if str(c).startswith(start) and "__" not in str(c)[len(start) :]
    }


def tier_table(kpi: pd.Series, tiers: Sequence[str]) -> list[dict[str, Any]]:
    """Customers and AUM per tier with shares of the branch total and average AUM."""
    counts, aum = prefixed(kpi, "customers"), prefixed(kpi, "aum")
    total_customers = sum(float(counts.get(t, 0)) for t in tiers)
    total_aum = sum(float(aum.get(t, 0)) for t in tiers)
    rows = []
    for tier in tiers:
        n, a = float(counts.get(tier, 0)), float(aum.get(tier, 0))
        rows.append(
            {
                "tier": tier,
                "customers": n,
                "customer_share": n / total_customers if total_customers else NA,
                "aum": a,
                "aum_share": a / total_aum if total_aum else NA,
                "avg_aum": a / n if n else NA,
            }
        )
    return rows


def migration_matrix(migration: pd.DataFrame, tiers: Sequence[str]) -> dict[str, Any]:
    """From-tier (and "new") rows by to-tier (and "closed") columns of customer counts,
    with how many stayed, moved up and moved down a tier."""
    rows_keys = [*tiers, "new"]
    cols_keys = [*tiers, "closed"]
    grid = (
        migration.groupby(["from_tier", "to_tier"])["customers"]
        .sum()
        .unstack(fill_value=0)
        .reindex(index=rows_keys, columns=cols_keys, fill_value=0)
    )
    moved = migration[migration["from_tier"].isin(tiers) & migration["to_tier"].isin(tiers)]
    step = (
        pd.Categorical(moved["to_tier"], categories=list(tiers)).codes
        - pd.Categorical(moved["from_tier"], categories=list(tiers)).codes
    )
    rows = [
        {
            "from": key,
            "cells": [float(v) for v in grid.loc[key]],
            "total": float(grid.loc[key].sum()),
        }
        for key in rows_keys
    ]
    return {
        "columns": cols_keys,
        "rows": rows,
        "column_totals": [float(v) for v in grid.sum(axis=0)],
        "stayed": float(moved.loc[step == 0, "customers"].sum()),
        "upgraded": float(moved.loc[step > 0, "customers"].sum()),
        "downgraded": float(moved.loc[step < 0, "customers"].sum()),
        "empty": bool(grid.to_numpy().sum() == 0),
    }


def rfm_table(features: pd.DataFrame, segment_order: Sequence[str]) -> list[dict[str, Any]]:
    """Customers, share, AUM and mean R/F/M per RFM segment, in the configured order."""
    features = active(features)
    total = len(features)
    grouped = features.groupby("rfm_segment", observed=True).agg(
        customers=("customer_id", "size"),
        aum=("aum", "sum"),
        recency=("recency_days", "mean"),
        frequency=("frequency", "mean"),
        monetary=("monetary", "mean"),
    )
    order = [s for s in segment_order if s in grouped.index]
    order += sorted(s for s in grouped.index if s not in order)
    rows = []
    for seg in order:
        g = grouped.loc[seg]
        rows.append(
            {
                "segment": seg,
                "customers": float(g["customers"]),
                "share": float(g["customers"]) / total,
                "aum": float(g["aum"]),
                # recency is null for a customer with no activity in the window
                "avg_recency": NA if pd.isna(g["recency"]) else float(g["recency"]),
                "avg_frequency": float(g["frequency"]),
                "avg_monetary": float(g["monetary"]),
            }
        )
    return rows


def active(features: pd.DataFrame) -> pd.DataFrame:
    """Customers active at the as-of date: the population of every stock KPI."""
    return features[features["status"] == "active"]


def rm_by_tier(
    features: pd.DataFrame, rm_tiers: Sequence[str], contact_days: int
) -> dict[str, dict[str, Any]]:
    """Per RM tier over active customers: count, share with an RM, share contacted within
    `contact_days` (pipeline.contacts, as the KPI rm_contact_coverage)."""
    act = active(features)
    out = {}
    for tier in rm_tiers:
        sub = act[act["tier"] == tier]
        n = len(sub)
        contacted = contacted_within(sub["days_since_rm_contact"], contact_days)
        out[tier] = {
            "customers": float(n),
            "with_rm": float(sub["rm_id"].notna().mean()) if n else NA,
            "contacted": float(contacted.mean()) if n else NA,
        }
    return out


def rm_coverage_table(
    branch: dict[str, dict[str, Any]], network: dict[str, dict[str, Any]], rm_tiers: Sequence[str]
) -> list[dict[str, Any]]:
    """Rows of the RM table: the branch's rm_by_tier beside the network's."""
    return [
        {
            "tier": tier,
            "customers": branch[tier]["customers"],
            "with_rm": branch[tier]["with_rm"],
            "contacted": branch[tier]["contacted"],
            "network_with_rm": network[tier]["with_rm"],
            "network_contacted": network[tier]["contacted"],
        }
        for tier in rm_tiers
    ]


def _share(value: Any) -> Any:
    """A share from a KPI column; NotAvailable when the tier has no customers (null)."""
    if value is None or pd.isna(value):
        return NA
    return float(value)


def product_table(kpi: pd.Series, network: pd.Series) -> list[dict[str, Any]]:
    """Penetration (share of customers holding it) per product, branch vs network."""
    branch, net = prefixed(kpi, "penetration"), prefixed(network, "penetration")
    return [
        {"product": p, "penetration": _share(branch[p]), "network": _share(net.get(p))}
        for p in sorted(branch, key=lambda p: (-float(branch[p]), p))
    ]


def holdings_distribution(features: pd.DataFrame, cap: int = 5) -> list[dict[str, Any]]:
    """Customers by number of products held, the last bucket `cap` or more."""
    features = active(features)
    held = features["products_held"].clip(upper=cap)
    counts = held.value_counts().reindex(range(cap + 1), fill_value=0)
    total = len(features)
    return [
        {
            "products": f"{k}+" if k == cap else str(k),
            "customers": float(counts[k]),
            "share": float(counts[k]) / total if total else NA,
        }
        for k in range(cap + 1)
    ]


def digital_table(kpi: pd.Series, network: pd.Series, tiers: Sequence[str]) -> list[dict[str, Any]]:
    """Digital adoption per tier, branch vs network."""
    branch, net = prefixed(kpi, "digital_adoption"), prefixed(network, "digital_adoption")
    return [
        {"tier": t, "adoption": _share(branch.get(t)), "network": _share(net.get(t))} for t in tiers
    ]


def transacting_customers(features: pd.DataFrame) -> dict[str, float]:
    """How many active customers transacted in the window (whose transactions the digital
    share of transactions is over, and the population of the RFM means), of how many."""
    act = active(features)
    return {"covered": float(act["digital_share"].notna().sum()), "customers": float(len(act))}
