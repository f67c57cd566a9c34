"""The customer feature mart: one row per customer as of a date.

Grain: every customer open at `as_of` (open_date <= as_of, no close_date on or before
it) plus those whose close_date falls in as_of's month up to as_of, kept with
`closed_in_period` True. `close_date` is the only evidence of when an account closed:
a source `status` of "closed" without a close_date cannot be placed in time, so such a
customer counts as open (using a later snapshot's status would leak the future).

Nothing after `as_of` is read: transactions with txn_time < as_of + 1 day, balances
with month_end <= as_of, contacts with contact_date <= as_of. The heavy work (one pass
over transactions, one over the needed balance month-ends) is SQL on the connection's
engine (DuckDB, or Spark with engine: spark; pipeline.dialect spells what differs);
pandas only finishes columns that depend on the whole population (tiers, RFM quantiles).

Definitions (the column docs of the report):
- aum / liabilities: sums of asset / liability products at the snapshot, the latest
  month_end <= as_of anywhere in `balances` (`aum_month_end`); a customer with no row
  there holds 0. aum_change_<k>m: aum minus the AUM at the month end k months before
  the snapshot; null when the customer had no balance row at all then.
  aum_change_pct_<k>m: that change over the earlier AUM; null when it was <= 0 or missing.
- products_held / has_<product>: products with a row at the snapshot, an asset product's
  with a non-zero balance (a loan or card with nothing owed this month is still held).
- Money is summed exactly as DECIMAL at 4 decimal places, so results do not depend on
  thread scheduling (same input, same bytes).
- recency_days: days from the last customer-initiated transaction ever (up to as_of) to
  as_of; null if none. frequency: distinct days (features.frequency_unit = day) or
  transactions (= transaction) with customer-initiated activity in the window of
  features.window_months ending on as_of; txn_count: customer-initiated transactions in
  the window; monetary: their revenue (null revenue counts 0) or amount per rfm.monetary
  (amount when no customer-initiated transaction up to as_of carries a revenue);
  digital_share: share of those on
  schema.DIGITAL_CHANNELS, null with none.
- dormant: no customer-initiated transaction in the last features.dormant_days days
  (recency_days null or >= dormant_days), so a new customer who never transacted is too.
- tenure_months / age: complete months / years to as_of (DuckDB date_sub, which counts a
  month-end to a shorter month's end as a whole month).
- digital_adopter: digital_enrolled, or more than features.digital_majority of window
  transactions on digital channels.
- age_band: by features.age_bands ("<18", "18-24", ..., "65+"), "unknown" without a
  birth_date. tier: pipeline.features.tiers. rfm_*: pipeline.features.rfm.
- new_in_period: opened in as_of's month. period: as_of's month, "YYYY-MM".
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa

from pipeline.engine import Engine
from pipeline.features.rfm import SCORE_LABELS, rfm_scores, score_codes, segment_codes
from pipeline.features.settings import FeatureSettings
from pipeline.features.sources import (
    balance_snapshot,
    balances_sql,
    contacts_sql,
    date_literal,
    fetch_frame,
    population_sql,
    product_bit,
    transactions_sql,
)
from pipeline.features.tiers import tier_index
from pipeline.periods import month_start, period_of
from pipeline.schema import PRODUCTS


def calendar_day(as_of: dt.date) -> dt.date:
    """The as-of date as a plain date (a datetime or Timestamp at midnight is accepted)."""
    if isinstance(as_of, dt.datetime | pd.Timestamp):
        if pd.Timestamp(as_of) != pd.Timestamp(as_of).normalize():
            raise ValueError(f"as_of must be a calendar day, got {as_of!r}")
        return pd.Timestamp(as_of).date()
    return as_of


def customer_aum(engine: Engine, as_of: dt.date) -> pd.DataFrame:
    """customer_id, branch_id, status and aum at as_of: the slice tiers need.

    The same population and balance SQL as the full mart, without the transactions pass;
    tier migration uses it for the previous period.
    """
    as_of = calendar_day(as_of)
    snapshot = balance_snapshot(engine, as_of)
    sql = f"""
        WITH pop AS ({population_sql(engine, as_of)}), bal AS ({balances_sql(snapshot, ())})
        SELECT pop.customer_id, pop.branch_id,
               CASE WHEN closed THEN 'closed' ELSE 'active' END AS status,
               CAST(coalesce(bal.aum, 0) AS DOUBLE) AS aum
        FROM pop LEFT JOIN bal USING (customer_id)
        ORDER BY pop.customer_id
    """
    return fetch_frame(engine, sql)


def age_band_codes(age: pd.Series, edges: tuple[int, ...]) -> tuple[list[str], np.ndarray]:
    """(labels, code per customer) of the age bands, the last label "unknown" (no age)."""
    labels = [f"<{edges[0]}"] if edges else ["all"]
    labels += [f"{a}-{b - 1}" for a, b in zip(edges, edges[1:], strict=False)]
    labels += [f"{edges[-1]}+"] if edges else []
    known = age.notna().to_numpy()
    idx = np.searchsorted(np.asarray(edges), age.fillna(0).to_numpy(dtype=np.int64), side="right")
    return [*labels, "unknown"], np.where(known, idx, len(labels))


def text_column(labels: list[str], codes: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """A str column holding labels[code] per row, built in Arrow: a million Python strings
    through pandas' str conversion cost ten times as much."""
    taken = pa.array(labels, type=pa.large_string()).take(pa.array(codes, type=pa.int64()))
    return pd.array(taken, dtype="str")


def customer_features(engine: Engine, as_of: dt.date, s: FeatureSettings) -> pd.DataFrame:
    """The feature mart at `as_of` over an engine with the canonical tables.

    Correct for any as_of (churn training calls it at earlier snapshots): reads nothing
    after it. Sorted by customer_id. See the module docstring for every definition.
    """
    as_of = calendar_day(as_of)
    sql = mart_sql(engine, as_of, s, s.aum_change_months) + " ORDER BY pop.customer_id"
    return _finish(fetch_frame(engine, sql), as_of, s)


# The columns branch KPIs read (pipeline.features.kpis) that the mart's SQL computes;
# kpi_features finishes tier, dormant and digital_adopter from them
KPI_SOURCES = (
    "customer_id",
    "branch_id",
    "rm_id",
    "status",
    "new_in_period",
    "closed_in_period",
    "aum",
    "products_held",
    *(f"has_{p}" for p in PRODUCTS),
    "recency_days",
    "txn_count",
    "digital_txn_count",
    "digital_share",
    "digital_enrolled",
    "days_since_rm_contact",
)


def kpi_features(engine: Engine, as_of: dt.date, s: FeatureSettings) -> pd.DataFrame:
    """The mart's columns that branch KPIs read, with customer_features' values and row
    order: the KPI history's backfill of months never run (pipeline.features.history)
    computes no AUM changes, RFM or monetary windows it would drop -- at a million
    customers about a third of the whole mart's time."""
    as_of = calendar_day(as_of)
    picked = ", ".join(KPI_SOURCES)
    df = fetch_frame(
        engine, f"SELECT {picked} FROM ({mart_sql(engine, as_of, s, ())}) ORDER BY customer_id"
    )
    for name, column in nullable_columns(df).items():  # as customer_features types them
        df[name] = column
    df["tier"] = tiers(df["aum"], s)
    df["dormant"] = dormant(df["recency_days"], s)
    df["digital_adopter"] = digital_adopter(df["digital_enrolled"], df["digital_share"], s)
    return df


def tiers(aum: pd.Series, s: FeatureSettings) -> pd.api.extensions.ExtensionArray:
    """Each customer's tier by AUM (pipeline.features.tiers), as text."""
    return text_column(list(s.tier_names), tier_index(aum, s.tier_min_aum))


def dormant(recency_days: pd.Series, s: FeatureSettings) -> np.ndarray:
    """No customer-initiated transaction in the last features.dormant_days days."""
    return (recency_days.isna() | (recency_days >= s.dormant_days)).to_numpy(dtype=bool)


def digital_adopter(enrolled: pd.Series, share: pd.Series, s: FeatureSettings) -> np.ndarray:
    """Enrolled in digital banking (`enrolled`: boolean, missing = no), or more than
    features.digital_majority of the window's transactions on digital channels."""
    enrolled = enrolled.fillna(False).to_numpy(dtype=bool)
    return enrolled | (share.astype("float64").fillna(0.0).to_numpy() > s.digital_majority)


def customer_measures(
    engine: Engine, as_of: dt.date, s: FeatureSettings, columns: tuple[str, ...]
) -> pd.DataFrame:
    """Only `columns` of the mart at `as_of`, in no particular row order: the values
    customer_features gives for them, for comparing distributions (drift).

    Columns must be ones the mart's SQL computes (not tier, dormant or RFM, which the
    whole population finishes). The balances pass reads only the month ends the asked
    AUM changes need, and the engine drops what no asked column uses: at a million
    customers about a third of the whole mart's work.
    """
    as_of = calendar_day(as_of)
    changes = tuple(
        k
        for k in s.aum_change_months
        if f"aum_change_{k}m" in columns or f"aum_change_pct_{k}m" in columns
    )
    picked = ", ".join(columns)
    return fetch_frame(engine, f"SELECT {picked} FROM ({mart_sql(engine, as_of, s, changes)})")


def mart_sql(
    engine: Engine,
    as_of: dt.date,
    s: FeatureSettings,
    changes: tuple[int, ...],
) -> str:
    """The mart's SELECT at `as_of`, before the pandas finish and in no order, with the
    AUM changes over `changes` months."""
    snapshot = balance_snapshot(engine, as_of)
    change_cols = [f"aum_change_{k}m" for k in changes]
    change_cols += [f"aum_change_pct_{k}m" for k in changes]
    product_cols = [
        f"coalesce((product_bits & {product_bit(p)}) <> 0, FALSE) AS has_{p}" for p in PRODUCTS
    ]
    products_held = "coalesce(bit_count(product_bits), 0)"
    frequency = "active_days" if s.frequency_unit == "day" else "txn_count"
    asof = date_literal(as_of)
    d = engine.dialect
    return f"""
        WITH pop AS ({population_sql(engine, as_of)}),
             tx AS ({transactions_sql(engine, as_of, s)}),
             bal AS ({balances_sql(snapshot, changes)}),
             rmc AS ({contacts_sql(engine, as_of)})
        SELECT pop.customer_id, pop.branch_id, pop.rm_id,
               CASE WHEN closed THEN 'closed' ELSE 'active' END AS status,
               closed AS closed_in_period,
               open_date,
               open_date >= {date_literal(month_start(as_of))} AS new_in_period,
               CAST({d.complete_months("open_date", asof)} AS INTEGER) AS tenure_months,
               CAST({d.complete_years("birth_date", asof)} AS INTEGER) AS age,
               gender, digital_enrolled,
               CAST({"NULL" if snapshot is None else date_literal(snapshot)} AS DATE)
                   AS aum_month_end,
               CAST(coalesce(aum, 0) AS DOUBLE) AS aum,
               CAST(coalesce(liabilities, 0) AS DOUBLE) AS liabilities,
               {"".join(f"{c}, " for c in change_cols)}
               CAST({products_held} AS INTEGER) AS products_held,
               {", ".join(product_cols)},
               last_txn_date,
               CAST({d.days_between("last_txn_date", asof)} AS INTEGER) AS recency_days,
               CAST(coalesce({frequency}, 0) AS BIGINT) AS frequency,
               CAST(coalesce(monetary, 0) AS DOUBLE) AS monetary,
               CAST(coalesce(txn_count, 0) AS BIGINT) AS txn_count,
               CAST(coalesce(digital_txn_count, 0) AS BIGINT) AS digital_txn_count,
               CASE WHEN txn_count > 0 THEN digital_txn_count / txn_count END AS digital_share,
               CAST({d.days_between("last_contact", asof)} AS INTEGER) AS days_since_rm_contact
        FROM pop
        LEFT JOIN tx USING (customer_id)
        LEFT JOIN bal USING (customer_id)
        LEFT JOIN rmc USING (customer_id)
    """


NULLABLE_INTS = ("age", "recency_days", "days_since_rm_contact")


def nullable_columns(df: pd.DataFrame) -> dict[str, pd.Series]:
    """The mart's integer and flag columns that may be missing, in pandas' nullable
    types (Int64, boolean), for those of them `df` holds."""
    out = {c: df[c].astype("Int64") for c in NULLABLE_INTS if c in df.columns}
    if "digital_enrolled" in df.columns:
        out["digital_enrolled"] = df["digital_enrolled"].astype("boolean")
    return out


def _finish(df: pd.DataFrame, as_of: dt.date, s: FeatureSettings) -> pd.DataFrame:
    """Columns over the whole population: tier, age band, dormancy, RFM; final order.

    New columns are built as arrays (text ones from codes, in Arrow) and the frame is
    assembled once, rather than inserted one by one into a million-row frame.
    """
    n = len(df)
    cols = {name: df[name] for name in df.columns}
    cols.update(nullable_columns(df))
    recency = cols["recency_days"]
    active = df["txn_count"].to_numpy() > 0
    groups = df["branch_id"].to_numpy() if s.rfm_population == "branch" else None
    r, f, m = rfm_scores(
        recency.to_numpy(dtype="float64", na_value=np.nan),
        df["frequency"].to_numpy(dtype="float64"),
        df["monetary"].to_numpy(dtype="float64"),
        active,
        groups,
    )
    bands, band_codes = age_band_codes(cols["age"], s.age_bands)
    segments, segment = segment_codes(
        r, f, active, s.segments, s.inactive_segment, s.unmatched_segment
    )
    added = {
        "rm_id": {
            "period": text_column([period_of(as_of)], np.zeros(n, dtype=np.int64)),
            "as_of_date": np.full(n, as_of, dtype=object),
        },
        "age": {"age_band": text_column(bands, band_codes)},
        "liabilities": {"tier": tiers(df["aum"], s)},
    }
    out = {}
    for name, column in cols.items():
        out[name] = column
        out.update(added.get(name, {}))
    out["dormant"] = dormant(recency, s)
    out["digital_adopter"] = digital_adopter(cols["digital_enrolled"], df["digital_share"], s)
    out["rfm_r"], out["rfm_f"], out["rfm_m"] = r, f, m
    out["rfm_score"] = text_column(SCORE_LABELS, score_codes(r, f, m))
    out["rfm_segment"] = text_column(segments, segment)
    return pd.DataFrame(out, index=pd.RangeIndex(n), copy=False)
