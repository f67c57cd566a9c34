"""`crm features`: read the canonical tables, build the period, write its four outputs
(and Excel copies of the branch KPIs and tier migration)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from contextvars import copy_context
from typing import Any

import pandas as pd

from pipeline import io
from pipeline.catalog import Catalog
from pipeline.engine import connect_engine
from pipeline.features.core import PeriodFeatures, customer_features, period_outputs
from pipeline.features.history import HistorySettings, branch_history, history_periods
from pipeline.features.settings import FeatureSettings
from pipeline.periods import as_of_date, period_of, previous_period
from pipeline.sheets import write_xlsx

WORKERS = 2  # steps run side by side (pipeline.steps): the machine's two cores


def stored_history(
    catalog: Catalog, period: str, months: int
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame | None]:
    """The branch_kpis of the earlier months in the history that were run, and the
    previous period's history (None when it was not run)."""
    stored = {}
    for month in history_periods(period, months)[:-1]:
        path = catalog.branch_kpis(month)
        if path.is_file():
            stored[month] = io.read_parquet(path)
    previous = catalog.branch_history(previous_period(period))
    return stored, io.read_parquet(previous) if previous.is_file() else None


def run_features(cfg: dict[str, Any], catalog: Catalog, period: str) -> str:
    """Compute and write the period's features, migration, KPIs, Lorenz points and the
    KPI history up to the period."""
    settings = FeatureSettings.from_config(cfg)
    history = HistorySettings.from_config(cfg)
    stored, previous = stored_history(catalog, period, history.months)
    engine = connect_engine(cfg, catalog.interim_dir)  # engine: duckdb | spark
    # The mart is written on a thread while the rest is computed from it; in this
    # context (copied), so its rename waits with the stage's other outputs.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="features-write") as writer:
        try:
            features = customer_features(engine, as_of_date(period), settings)
            path = catalog.customer_features(period)
            written = writer.submit(copy_context().run, io.write_parquet, features, path)
            out = period_outputs(engine, features, period, settings, WORKERS)
            first_day = catalog.transaction_days()[0]
            first_month = period_of(first_day) if first_day is not None else None
            trend = branch_history(
                engine,
                period,
                out.branch_kpis,
                stored,
                previous,
                settings,
                history,
                WORKERS,
                first_month,
            )
        finally:
            engine.close()
        written.result()
    io.write_parquet(out.tier_migration, catalog.tier_migration(period))
    io.write_parquet(out.branch_kpis, catalog.branch_kpis(period))
    io.write_parquet(out.lorenz, catalog.lorenz(period))
    as_of = as_of_date(period)  # the Excel copies analysts open
    write_xlsx(out.branch_kpis, catalog.workbook(period, "branch_kpis"), "Branch KPIs", as_of)
    write_xlsx(
        out.tier_migration, catalog.workbook(period, "tier_migration"), "Tier migration", as_of
    )
    io.write_parquet(trend, catalog.branch_history(period))
    return summary(out, period, trend)


def summary(out: PeriodFeatures, period: str, trend: pd.DataFrame | None = None) -> str:
    """The lines `crm features` prints."""
    network = out.branch_kpis[out.branch_kpis["scope"] == "network"].iloc[0]
    tiers = ", ".join(
        f"{c.split('__', 1)[1]} {int(network[c]):,}"
        for c in out.branch_kpis.columns
        if c.startswith("customers__")
    )
    gini = network["gini_aum"]  # undefined without balances (a card-spend export)
    gini_text = f"{gini:.3f}" if pd.notna(gini) else "n/a (no AUM)"
    lines = [
        f"features {period}: {int(network['customers']):,} active customers in "
        f"{int((out.branch_kpis['scope'] == 'branch').sum())} "
        f"branches ({int(network['closed_customers']):,} closed in the period, "
        f"{int(network['new_customers']):,} new)",
        f"  AUM {network['aum']:,.0f}; tiers: {tiers}; Gini {gini_text}; "
        f"dormant {network['dormant_share']:.1%}",
    ]
    if trend is not None:
        months = trend["period"].nunique()
        computed = trend.loc[trend["source"] == "computed", "period"].nunique()
        lines.append(
            f"  history: {months} months up to {period} ({months - computed} from runs, "
            f"{computed} computed from the canonical tables)"
        )
    lines += [f"  note: {n}" for n in out.notes]
    return "\n".join(lines)
