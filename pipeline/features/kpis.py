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
  (pipeline.contacts: days_since_rm_contact < rm_contact_days, the as-of day counted).
- rm_count: distinct RMs among active customers; customers_per_rm: active customers
  with an RM / rm_count (null without RMs).
Shares whose denominator is 0 are null.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline.contacts import contacted_within
from pipeline.features.concentration import Concentration, concentration
from pipeline.features.settings import FeatureSettings
from pipeline.features.tiers import category_codes
from pipeline.schema import PRODUCTS


@dataclass(frozen=True)
class Scope:
    """Active customers of one grouping (each branch, or the network as one group)."""

    scope: str
    labels: list[str | None]  # branch_id per group (None for the network)
    codes: np.ndarray  # group of each active customer, 0..len(labels)-1


def _scopes(features: pd.DataFrame) -> tuple[np.ndarray, list[Scope]]:
    """The active mask and the branch and network groupings of the active customers."""
    active = (features["status"] == "active").to_numpy(dtype=bool)
    codes, branches = pd.factorize(features["branch_id"], sort=True)
    return active, [
        Scope("branch", [str(b) for b in branches], codes.astype(np.int64)),
        Scope("network", [None], np.zeros(len(features), dtype=np.int64)),
    ]


def _tier_codes(tier: pd.Series, s: FeatureSettings) -> np.ndarray:
    """Position of each customer's tier in the configured order."""
    return category_codes(tier, s.tier_names)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    out = np.full(np.broadcast(num, den).shape, np.nan)
    np.divide(num, den, out=out, where=den > 0)
    return out


def _concentrations(codes: np.ndarray, aum: np.ndarray, groups: int, points: int):
    """Concentration of AUM per group: one sort by (group, aum), then a slice per group."""
    order = np.lexsort((aum, codes))
    sorted_codes, sorted_aum = codes[order], aum[order]
    bounds = np.searchsorted(sorted_codes, np.arange(groups + 1))
    return [concentration(sorted_aum[bounds[g] : bounds[g + 1]], points) for g in range(groups)]


def _aggregate(features: pd.DataFrame, active: np.ndarray, sc: Scope, s: FeatureSettings):
    """Every KPI of one scope as columns of length len(sc.labels)."""
    G, T = len(sc.labels), len(s.tier_names)
    all_codes = sc.codes
    codes = all_codes[active]

    def total(values: np.ndarray) -> np.ndarray:
        weights = np.asarray(values, dtype=np.float64)[active]
        return np.bincount(codes, weights=weights, minlength=G)

    def count(where: np.ndarray | None = None) -> np.ndarray:
        c = codes if where is None else codes[where]
        return np.bincount(c, minlength=G).astype(np.int64)

    tier = _tier_codes(features["tier"], s)[active]
    by_tier = codes * T + tier

    def tier_total(values: np.ndarray | None) -> np.ndarray:
        w = None if values is None else np.asarray(values, dtype=np.float64)[active]
        return np.bincount(by_tier, weights=w, minlength=G * T).reshape(G, T)

    out: dict[str, np.ndarray] = {}
    customers = count()
    aum = total(features["aum"].to_numpy())
    out["customers"] = customers
    out["aum"] = aum
    for name, col in (("new_customers", "new_in_period"), ("closed_customers", "closed_in_period")):
        flags = features[col].to_numpy(dtype=bool)
        out[name] = np.bincount(all_codes[flags], minlength=G).astype(np.int64)
    dormant = count(features["dormant"].to_numpy(dtype=bool)[active])
    out["dormant_customers"] = dormant
    out["dormant_share"] = _ratio(dormant, customers)

    tier_counts = tier_total(None).astype(np.int64)
    tier_aum = tier_total(features["aum"].to_numpy())
    for j, name in enumerate(s.tier_names):
        out[f"customers__{name}"] = tier_counts[:, j]
    for j, name in enumerate(s.tier_names):
        out[f"customer_share__{name}"] = _ratio(tier_counts[:, j], customers)
    for j, name in enumerate(s.tier_names):
        out[f"aum__{name}"] = tier_aum[:, j]
    for j, name in enumerate(s.tier_names):
        out[f"aum_share__{name}"] = _ratio(tier_aum[:, j], aum)
    out["long_tail_share"] = _ratio(tier_counts[:, 0], customers)

    conc = _concentrations(codes, features["aum"].to_numpy()[active], G, s.lorenz_points)
    out["gini_aum"] = np.array([c.gini for c in conc])
    out["top1_aum_share"] = np.array([c.top1_share for c in conc])
    out["top10_aum_share"] = np.array([c.top10_share for c in conc])

    out["products_per_customer"] = _ratio(total(features["products_held"].to_numpy()), customers)
    for p in PRODUCTS:
        out[f"penetration__{p}"] = _ratio(total(features[f"has_{p}"].to_numpy()), customers)
    for p in PRODUCTS:
        held = _ratio(tier_total(features[f"has_{p}"].to_numpy()), tier_counts)
        for j, name in enumerate(s.tier_names):
            out[f"penetration__{p}__{name}"] = held[:, j]

    adopter = features["digital_adopter"].to_numpy()
    out["digital_adoption"] = _ratio(total(adopter), customers)
    adoption = _ratio(tier_total(adopter), tier_counts)
    for j, name in enumerate(s.tier_names):
        out[f"digital_adoption__{name}"] = adoption[:, j]
    out["digital_txn_share"] = _ratio(
        total(features["digital_txn_count"].to_numpy()), total(features["txn_count"].to_numpy())
    )

    rm_tier_codes = [i for i, name in enumerate(s.tier_names) if name in s.rm_tiers]
    in_rm_tier = np.isin(tier, rm_tier_codes)
    has_rm = features["rm_id"].notna().to_numpy()
    contacted = contacted_within(features["days_since_rm_contact"], s.rm_contact_days)
    rm_tier_customers = count(in_rm_tier)
    out["rm_tier_customers"] = rm_tier_customers
    out["rm_coverage"] = _ratio(count(in_rm_tier & has_rm[active]), rm_tier_customers)
    out["rm_contact_coverage"] = _ratio(count(in_rm_tier & contacted[active]), rm_tier_customers)
    with_rm = active & has_rm
    rm_codes = pd.factorize(features["rm_id"][with_rm])[0].astype(np.int64)
    pairs = np.unique(all_codes[with_rm] * (int(rm_codes.max(initial=0)) + 1) + rm_codes)
    rm_count = np.bincount(pairs // (int(rm_codes.max(initial=0)) + 1), minlength=G)
    out["rm_count"] = rm_count.astype(np.int64)
    out["customers_per_rm"] = _ratio(np.bincount(all_codes[with_rm], minlength=G), rm_count)
    return out, conc


def compute_branch_outputs(
    features: pd.DataFrame, s: FeatureSettings, period: str, as_of: dt.date
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(branch_kpis, lorenz) from one pass: branches sorted by branch_id, then network.

    A branch with no active customers has a KPI row but no Lorenz curve.
    """
    active, scopes = _scopes(features)
    parts, curves = [], []
    for sc in scopes:
        columns, conc = _aggregate(features, active, sc, s)
        n = len(sc.labels)
        head = {
            "scope": [sc.scope] * n,
            "branch_id": sc.labels,
            "period": [period] * n,
            "as_of_date": [as_of] * n,
        }
        parts.append(pd.DataFrame({**head, **columns}))
        curves += [
            lorenz_frame(sc.scope, label, c, period)
            for label, c, present in zip(sc.labels, conc, columns["customers"] > 0, strict=True)
            if present
        ]
    kpis = pd.concat(parts, ignore_index=True)
    kpis["branch_id"] = kpis["branch_id"].astype("object").where(kpis["branch_id"].notna(), None)
    kpis["as_of_date"] = kpis["as_of_date"].astype("object")
    if curves:
        lorenz = pd.concat(curves, ignore_index=True)
    else:
        lorenz = lorenz_frame("network", None, concentration(np.zeros(0), 1), period).iloc[:0]
    lorenz["branch_id"] = (
        lorenz["branch_id"].astype("object").where(lorenz["branch_id"].notna(), None)
    )
    return kpis, lorenz


def compute_branch_kpis(
    features: pd.DataFrame, s: FeatureSettings, period: str, as_of: dt.date
) -> pd.DataFrame:
    """branch_kpis rows: branches sorted by branch_id, then the network row."""
    return compute_branch_outputs(features, s, period, as_of)[0]


def compute_lorenz(
    features: pd.DataFrame, s: FeatureSettings, period: str, as_of: dt.date
) -> pd.DataFrame:
    """Lorenz points per branch (sorted) then network: point 0..lorenz_points."""
    return compute_branch_outputs(features, s, period, as_of)[1]


def lorenz_frame(scope: str, label: str | None, c: Concentration, period: str) -> pd.DataFrame:
    points = len(c.lorenz_customer_share)
    return pd.DataFrame(
        {
            "scope": [scope] * points,
            "branch_id": [label] * points,
            "period": [period] * points,
            "point": np.arange(points, dtype=np.int64),
            "cum_customer_share": c.lorenz_customer_share,
            "cum_aum_share": c.lorenz_aum_share,
        }
    )
