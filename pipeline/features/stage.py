"""`crm features`: the I/O edge. Reads canonical tables, writes the period's four outputs.

customer_features.parquet (one row per customer per period), tier_migration.parquet
(branch x from_tier x to_tier), branch_kpis.parquet (branch x period, plus a network
row) and lorenz.parquet (Lorenz points per branch and network-wide).
"""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from contextvars import copy_context
from dataclasses import dataclass
from typing import Any

import duckdb
import pandas as pd

from pipeline import io
from pipeline.catalog import Catalog
from pipeline.features.customer import compute_customer_features, customer_aum
from pipeline.features.kpis import compute_branch_outputs
from pipeline.features.migration import compute_tier_migration
from pipeline.features.settings import FeatureSettings
from pipeline.features.sources import balance_snapshot, revenue_recorded, table_columns
from pipeline.features.tiers import assign_tiers
from pipeline.periods import as_of_date, previous_period
from pipeline.tables import connect_engine, on_cursor


@dataclass(frozen=True)
class PeriodFeatures:
    features: pd.DataFrame
    tier_migration: pd.DataFrame
    branch_kpis: pd.DataFrame
    lorenz: pd.DataFrame
    notes: tuple[str, ...]


def previous_tiers(
    con: duckdb.DuckDBPyConnection, as_of: dt.date, s: FeatureSettings
) -> pd.DataFrame:
    """customer_id, branch_id, status, tier at an earlier as-of date, from data up to it."""
    prev = customer_aum(con, as_of)
    prev["tier"] = assign_tiers(prev["aum"], s.tier_names, s.tier_min_aum)
    return prev


def data_notes(con: duckdb.DuckDBPyConnection, as_of: dt.date, s: FeatureSettings) -> list[str]:
    """Facts about the inputs an analyst should know when reading this period's numbers."""
    notes = []
    snapshot = balance_snapshot(con, as_of)
    if snapshot is None:
        notes.append(f"no balances on or before {as_of}: AUM is 0 for everyone")
    elif (snapshot.year, snapshot.month) != (as_of.year, as_of.month):
        notes.append(f"latest balances are from {snapshot}, not the period's month")
    if s.rfm_monetary == "revenue" and not revenue_recorded(con, as_of):
        notes.append(
            "no revenue on customer-initiated transactions up to the as-of date: "
            "RFM monetary uses amount"
        )
    cols = table_columns(con, "customers")
    if "status" in cols:
        close = "close_date IS NULL" if "close_date" in cols else "TRUE"
        undated = con.execute(
            f"SELECT count(*) FROM customers WHERE status = 'closed' AND {close}"
        ).fetchall()[0][0]
        if undated:
            notes.append(
                f"{undated} customers have status closed but no close_date: counted as open"
            )
    return notes


def build_period(
    con: duckdb.DuckDBPyConnection, period: str, cfg: dict[str, Any]
) -> PeriodFeatures:
    """Every output of the stage for one period, from the canonical tables on `con`."""
    features = compute_customer_features(con, as_of_date(period), cfg)
    return period_outputs(con, features, period, cfg)


def period_outputs(
    con: duckdb.DuckDBPyConnection, features: pd.DataFrame, period: str, cfg: dict[str, Any]
) -> PeriodFeatures:
    """The period's migration, KPIs, Lorenz points and notes around its feature mart."""
    s = FeatureSettings.from_config(cfg)
    as_of = as_of_date(period)
    # the previous month's tiers (a scan on the engine) come in on a cursor of their own
    # while the KPIs (pandas, one core) are computed
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="features-previous") as pool:
        before = as_of_date(previous_period(period))
        prev_job = pool.submit(on_cursor, con, previous_tiers, before, s)
        kpis, lorenz = compute_branch_outputs(features, s, period, as_of)
        prev = prev_job.result()
    migration = compute_tier_migration(prev, features, s.tier_names, period)
    notes = data_notes(con, as_of, s)
    if features.empty:
        notes.insert(0, f"no customers open on {as_of}: is the period right?")
    unmatched = int((features["rfm_segment"] == s.unmatched_segment).sum())
    if unmatched:
        notes.append(f"{unmatched} customers match no rfm.segments rule: {s.unmatched_segment}")
    return PeriodFeatures(features, migration, kpis, lorenz, tuple(notes))


def run_features(cfg: dict[str, Any], catalog: Catalog, period: str) -> str:
    """Compute and write the period's features, migration, KPIs and Lorenz points."""
    con = connect_engine(cfg, catalog)  # engine: duckdb | spark
    # The mart is written on a thread while migration and KPIs are computed; in this
    # context (copied), so its rename waits with the stage's other outputs.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="features-write") as writer:
        try:
            features = compute_customer_features(con, as_of_date(period), cfg)
            path = catalog.customer_features(period)
            written = writer.submit(copy_context().run, io.write_parquet, features, path)
            out = period_outputs(con, features, period, cfg)
        finally:
            con.close()
        written.result()
    io.write_parquet(out.tier_migration, catalog.tier_migration(period))
    io.write_parquet(out.branch_kpis, catalog.branch_kpis(period))
    io.write_parquet(out.lorenz, catalog.lorenz(period))
    return summary(out, period)


def summary(out: PeriodFeatures, period: str) -> str:
    network = out.branch_kpis[out.branch_kpis["scope"] == "network"].iloc[0]
    tiers = ", ".join(
        f"{c.split('__', 1)[1]} {int(network[c]):,}"
        for c in out.branch_kpis.columns
        if c.startswith("customers__")
    )
    lines = [
        f"features {period}: {int(network['customers']):,} active customers in "
        f"{int((out.branch_kpis['scope'] == 'branch').sum())} "
        f"branches ({int(network['closed_customers']):,} closed in the period, "
        f"{int(network['new_customers']):,} new)",
        f"  AUM {network['aum']:,.0f}; tiers: {tiers}; Gini {network['gini_aum']:.3f}; "
        f"dormant {network['dormant_share']:.1%}",
    ]
    lines += [f"  note: {n}" for n in out.notes]
    return "\n".join(lines)
