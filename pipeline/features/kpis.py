"""Branch KPIs and Lorenz points from the customer feature mart.

Grain of branch_kpis: one row per branch (scope "branch") plus one network-wide row
(scope "network", branch_id null), for one period. Stock measures (customers, AUM,
tiers, dormancy, concentration, products, digital, RM coverage) are over customers
*active* at the as-of date; `new_customers` counts customers opened in the period
(including any who also closed in it) and `closed_customers` those closed in it.

Definitions:
- long_tail_share: share of active customers in the lowest configured tier (mass);
  customer_share__<tier> and aum_share__<tier> are shares of the scope's customers and
  AUM (each sums to 1 over tiers when the scope has customers / AUM).
- gini_aum, top1_aum_share, top10_aum_share: see pipeline.features.concentration.
- products_per_customer: mean products_held. penetration__<product>: share holding it;
  penetration__<product>__<tier>: the same within a tier (null when the tier is empty).
- digital_adoption(__<tier>): share of customers who are digital adopters
  (digital_enrolled, or more than features.digital_majority of their window
  transactions digital). digital_txn_share: share of all window customer-initiated
  transactions made on digital channels.
- rm_tier_customers: active customers in rm_tiers; rm_coverage: share of them with an
  RM; rm_contact_coverage: share of them contacted within features.rm_contact_days
  (days_since_rm_contact < rm_contact_days, i.e. in the last rm_contact_days days).
- rm_count: distinct RMs among active customers; customers_per_rm: active customers
  with an RM / rm_count (null without RMs).
Shares whose denominator is 0 are null.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from pipeline.features.concentration import concentration
from pipeline.features.settings import FeatureSettings
from pipeline.schema import PRODUCTS

NETWORK_KEY = "\x00network"  # sorts before any branch id; never a real id


def _ratio(num: pd.Series, den: pd.Series) -> pd.Series:
    den = den.astype("float64")
    return (num.astype("float64") / den.where(den > 0)).astype("float64")


def _by_tier(active: pd.DataFrame, values: str | None, s: FeatureSettings, keys, how: str):
    """Key x tier frame (columns in config tier order) of counts, sums or means."""
    grouped = active.groupby(["_key", "tier"], sort=True)
    if how == "count":
        table = grouped.size().unstack("tier")
    else:
        table = getattr(grouped[values], how)().unstack("tier")
    table = table.reindex(index=keys, columns=list(s.tier_names))
    if how in ("count", "sum"):
        table = table.fillna(0)
    return table


def _aggregate(df: pd.DataFrame, s: FeatureSettings) -> pd.DataFrame:
    """Every KPI per value of df["_key"] (a branch id, or the network key)."""
    keys = pd.Index(sorted(df["_key"].unique()), name="_key")
    active = df[df["status"] == "active"]
    g = active.groupby("_key", sort=True)
    every = df.groupby("_key", sort=True)
    out = pd.DataFrame(index=keys)
    customers = g.size().reindex(keys, fill_value=0).astype("int64")
    aum = g["aum"].sum().reindex(keys, fill_value=0.0).astype("float64")
    out["customers"] = customers
    out["aum"] = aum
    out["new_customers"] = every["new_in_period"].sum().reindex(keys).astype("int64")
    out["closed_customers"] = every["closed_in_period"].sum().reindex(keys).astype("int64")
    dormant = g["dormant"].sum().reindex(keys, fill_value=0).astype("int64")
    out["dormant_customers"] = dormant
    out["dormant_share"] = _ratio(dormant, customers)

    counts = _by_tier(active, None, s, keys, "count").astype("int64")
    sums = _by_tier(active, "aum", s, keys, "sum").astype("float64")
    for tier in s.tier_names:
        out[f"customers__{tier}"] = counts[tier]
    for tier in s.tier_names:
        out[f"customer_share__{tier}"] = _ratio(counts[tier], customers)
    for tier in s.tier_names:
        out[f"aum__{tier}"] = sums[tier]
    for tier in s.tier_names:
        out[f"aum_share__{tier}"] = _ratio(sums[tier], aum)
    out["long_tail_share"] = _ratio(counts[s.tier_names[0]], customers)

    conc = {key: concentration(frame["aum"].to_numpy(), s.lorenz_points) for key, frame in g}
    nan = float("nan")
    out["gini_aum"] = [conc[k].gini if k in conc else nan for k in keys]
    out["top1_aum_share"] = [conc[k].top1_share if k in conc else nan for k in keys]
    out["top10_aum_share"] = [conc[k].top10_share if k in conc else nan for k in keys]

    out["products_per_customer"] = g["products_held"].mean().reindex(keys).astype("float64")
    for p in PRODUCTS:
        out[f"penetration__{p}"] = g[f"has_{p}"].mean().reindex(keys).astype("float64")
    for p in PRODUCTS:
        by_tier = _by_tier(active, f"has_{p}", s, keys, "mean").astype("float64")
        for tier in s.tier_names:
            out[f"penetration__{p}__{tier}"] = by_tier[tier]

    out["digital_adoption"] = g["digital_adopter"].mean().reindex(keys).astype("float64")
    adoption = _by_tier(active, "digital_adopter", s, keys, "mean").astype("float64")
    for tier in s.tier_names:
        out[f"digital_adoption__{tier}"] = adoption[tier]
    out["digital_txn_share"] = _ratio(
        g["digital_txn_count"].sum().reindex(keys, fill_value=0),
        g["txn_count"].sum().reindex(keys, fill_value=0),
    )

    rm_tier = active[active["tier"].isin(s.rm_tiers)]
    has_rm = rm_tier["rm_id"].notna()
    contacted = (rm_tier["days_since_rm_contact"] < s.rm_contact_days).fillna(False).astype(bool)
    gr = rm_tier.assign(_has_rm=has_rm, _contacted=contacted).groupby("_key", sort=True)
    rm_tier_customers = gr.size().reindex(keys, fill_value=0).astype("int64")
    out["rm_tier_customers"] = rm_tier_customers
    out["rm_coverage"] = _ratio(gr["_has_rm"].sum().reindex(keys, fill_value=0), rm_tier_customers)
    out["rm_contact_coverage"] = _ratio(
        gr["_contacted"].sum().reindex(keys, fill_value=0), rm_tier_customers
    )
    with_rm = active[active["rm_id"].notna()].groupby("_key", sort=True)["rm_id"]
    rm_count = with_rm.nunique().reindex(keys, fill_value=0).astype("int64")
    out["rm_count"] = rm_count
    out["customers_per_rm"] = _ratio(with_rm.size().reindex(keys, fill_value=0), rm_count)
    return out


def _with_scope(features: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    return [
        ("branch", features.assign(_key=features["branch_id"])),
        ("network", features.assign(_key=NETWORK_KEY)),
    ]


def compute_branch_kpis(
    features: pd.DataFrame, s: FeatureSettings, period: str, as_of: dt.date
) -> pd.DataFrame:
    """branch_kpis rows: branches sorted by branch_id, then the network row."""
    parts = []
    for scope, frame in _with_scope(features):
        agg = _aggregate(frame, s).reset_index()
        agg.insert(0, "scope", scope)
        agg.insert(1, "branch_id", None if scope == "network" else agg.pop("_key"))
        if scope == "network":
            agg = agg.drop(columns="_key")
        parts.append(agg)
    out = pd.concat(parts, ignore_index=True)
    out["branch_id"] = out["branch_id"].astype("object").where(out["branch_id"].notna(), None)
    out.insert(2, "period", period)
    out.insert(3, "as_of_date", as_of)
    out["as_of_date"] = out["as_of_date"].astype("object")
    return out


def compute_lorenz(features: pd.DataFrame, s: FeatureSettings, period: str) -> pd.DataFrame:
    """lorenz rows: scope, branch_id, period, point (0..lorenz_points), the two shares."""
    rows = []
    for scope, frame in _with_scope(features):
        active = frame[frame["status"] == "active"]
        for key, group in active.groupby("_key", sort=True):  # one curve per branch
            c = concentration(group["aum"].to_numpy(), s.lorenz_points)
            rows.append(
                pd.DataFrame(
                    {
                        "scope": scope,
                        "branch_id": None if scope == "network" else key,
                        "period": period,
                        "point": np.arange(s.lorenz_points + 1, dtype=np.int64),
                        "cum_customer_share": c.lorenz_customer_share,
                        "cum_aum_share": c.lorenz_aum_share,
                    }
                )
            )
    columns = ["scope", "branch_id", "period", "point", "cum_customer_share", "cum_aum_share"]
    if not rows:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
    out = pd.concat(rows, ignore_index=True)
    out["branch_id"] = out["branch_id"].astype("object").where(out["branch_id"].notna(), None)
    return out[columns]
