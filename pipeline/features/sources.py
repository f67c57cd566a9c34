"""SQL over the canonical tables for the feature mart, one builder per source.

Each builder returns a SELECT (used as a CTE) that reads only data up to the as-of
date; `fetch_frame` runs a query into pandas through Arrow. Optional columns an export
lacks become typed NULLs, a missing required column is an InputError naming it.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pyarrow as pa

from pipeline.engine import Engine
from pipeline.errors import InputError
from pipeline.features.settings import FeatureSettings
from pipeline.periods import day_after, month_end, month_start, window_bounds
from pipeline.schema import ASSET_PRODUCTS, DIGITAL_CHANNELS, LIABILITY_PRODUCTS, PRODUCTS

MONEY = "DECIMAL(18,4)"


def date_literal(day: dt.date) -> str:
    return f"DATE '{day.isoformat()}'"


def _in_list(values: tuple[str, ...]) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


def _optional(cols: set[str], name: str, sql_type: str) -> str:
    """The column cast to its type, or a typed NULL when the export does not have it."""
    return f"CAST({name} AS {sql_type})" if name in cols else f"CAST(NULL AS {sql_type})"


def _require(cols: set[str], table: str, needed: tuple[str, ...]) -> None:
    missing = [c for c in needed if c not in cols]
    if missing:
        raise InputError(f"table {table}: required column(s) missing: {', '.join(missing)}")


def population_sql(engine: Engine, as_of: dt.date) -> str:
    """SELECT of the customers in the mart at as_of, with their static attributes."""
    cols = set(engine.columns("customers"))
    _require(cols, "customers", ("customer_id", "branch_id", "open_date"))
    close = _optional(cols, "close_date", "DATE")
    start = month_start(as_of)
    return f"""
        SELECT customer_id, CAST(branch_id AS STRING) AS branch_id,
               CAST(rm_id_raw AS STRING) AS rm_id, open_date, close_date,
               birth_date, gender, digital_enrolled,
               close_date IS NOT NULL AND close_date <= {date_literal(as_of)} AS closed
        FROM (
            SELECT customer_id, branch_id, CAST(open_date AS DATE) AS open_date,
                   {close} AS close_date,
                   {_optional(cols, "rm_id", "STRING")} AS rm_id_raw,
                   {_optional(cols, "birth_date", "DATE")} AS birth_date,
                   {_optional(cols, "gender", "STRING")} AS gender,
                   {_optional(cols, "digital_enrolled", "BOOLEAN")} AS digital_enrolled
            FROM customers
        )
        WHERE open_date <= {date_literal(as_of)}
          AND (close_date IS NULL OR close_date >= {date_literal(start)})
    """


def balance_snapshot(engine: Engine, as_of: dt.date) -> dt.date | None:
    """The latest month_end on or before as_of in the balances table (None: no balances)."""
    sql = "SELECT max(CAST(month_end AS DATE)) FROM balances WHERE month_end <= "
    return engine.rows(sql + date_literal(as_of))[0][0]


def product_bit(product: str) -> int:
    """Bit of a product in `product_bits` (schema.PRODUCTS order)."""
    return 1 << PRODUCTS.index(product)


def balances_sql(snapshot: dt.date | None, change_months: tuple[int, ...]) -> str:
    """Per-customer AUM, liabilities and held-product bits at the snapshot, and the AUM
    change since each month end `change_months` before it (aum_change_<k>m, null without
    a balance row then; aum_change_pct_<k>m, null unless the earlier AUM was > 0).

    The needed month ends come from a join with a small table of them rather than a
    WHERE month_end IN (...): the engine pushes the join's keys into the Parquet scan,
    which then decodes only those months' rows. Each row is classified once (which month
    end, its product bit), so the aggregates compare small integers rather than dates
    and product names. Each change is subtracted (exactly, in DECIMAL) once and the
    percentage divides that double, as (aum - earlier) / earlier did.
    """
    if snapshot is None:  # no balances on or before as_of: an empty relation of the shape
        cols = [
            "CAST(NULL AS STRING) AS customer_id",
            f"CAST(NULL AS {MONEY}) AS aum",
            f"CAST(NULL AS {MONEY}) AS liabilities",
            "CAST(NULL AS INTEGER) AS product_bits",
        ]
        cols += [f"CAST(NULL AS DOUBLE) AS aum_change_{k}m" for k in change_months]
        cols += [f"CAST(NULL AS DOUBLE) AS aum_change_pct_{k}m" for k in change_months]
        return f"SELECT {', '.join(cols)} WHERE FALSE"
    dates = {0: snapshot, **{k: month_end(snapshot, k) for k in change_months}}
    months = " UNION ALL ".join(
        f"SELECT {date_literal(d)} AS month_end, {k} AS m" for k, d in dates.items()
    )
    bits = " ".join(f"WHEN '{p}' THEN {product_bit(p)}" for p in PRODUCTS)
    assets = sum(product_bit(p) for p in ASSET_PRODUCTS)
    liabilities = sum(product_bit(p) for p in LIABILITY_PRODUCTS)
    parts = [
        f"sum(b) FILTER (WHERE m = 0 AND (kind & {assets}) <> 0) AS aum",
        f"sum(b) FILTER (WHERE m = 0 AND (kind & {liabilities}) <> 0) AS liabilities",
        "bit_or(kind) FILTER (WHERE m = 0 AND held) AS product_bits",
    ]
    changes = []
    for k in change_months:
        parts.append(f"bool_or(m = {k}) AS seen_{k}m")
        parts.append(f"sum(b) FILTER (WHERE m = {k} AND (kind & {assets}) <> 0) AS aum_{k}m_ago")
        changes.append(
            f"CASE WHEN seen_{k}m THEN CAST(coalesce(aum, 0) - coalesce(aum_{k}m_ago, 0)"
            f" AS DOUBLE) END AS aum_change_{k}m"
        )
    pcts = [
        f"CASE WHEN aum_{k}m_ago > 0 THEN aum_change_{k}m / CAST(aum_{k}m_ago AS DOUBLE) END"
        f" AS aum_change_pct_{k}m"
        for k in change_months
    ]
    kept = ["customer_id", "aum", "liabilities", "product_bits"]
    earlier = [f"aum_{k}m_ago" for k in change_months]
    return f"""
        SELECT {", ".join(kept + [f"aum_change_{k}m" for k in change_months] + pcts)}
        FROM (
            SELECT {", ".join(kept + earlier + changes)}
            FROM (
                SELECT customer_id, {", ".join(parts)}
                FROM (
                    SELECT balances.customer_id, CAST(balances.balance AS {MONEY}) AS b,
                           months.m, CASE balances.product {bits} ELSE 0 END AS kind,
                           balances.balance <> 0
                               OR balances.product IN ({_in_list(LIABILITY_PRODUCTS)}) AS held
                    FROM balances
                    JOIN ({months}) AS months ON balances.month_end = months.month_end
                ) AS classified
                GROUP BY customer_id
            ) AS sums
        ) AS changed
    """


def revenue_recorded(engine: Engine, as_of: dt.date) -> bool:
    """Whether any customer-initiated transaction up to as_of carries a revenue.

    Without one (no revenue column, or a bank that books revenue only on fees, as the
    Berka data does) every monetary value would tie at 0, so RFM monetary uses amount.
    """
    if "revenue" not in engine.columns("transactions"):
        return False
    end = pd.Timestamp(day_after(as_of))
    rows = engine.rows(
        "SELECT 1 FROM transactions WHERE customer_initiated AND revenue IS NOT NULL"
        f" AND txn_time < TIMESTAMP '{end.isoformat()}' LIMIT 1"
    )
    return bool(rows)


def transactions_sql(engine: Engine, as_of: dt.date, s: FeatureSettings) -> str:
    """One pass over customer-initiated transactions up to as_of: recency and window stats."""
    cols = set(engine.columns("transactions"))
    _require(
        cols, "transactions", ("customer_id", "txn_time", "amount", "channel", "customer_initiated")
    )
    start, end = window_bounds(as_of, s.window_months)
    in_window = f"txn_time >= TIMESTAMP '{start.isoformat()}'"
    # Active days: distinct day numbers in the window (pipeline.dialect: DuckDB counts
    # bits of a bounded bitstring, ten times faster there than a hash count DISTINCT).
    d = engine.dialect
    day = d.days_between(f"DATE '{start.date().isoformat()}'", "CAST(txn_time AS DATE)")
    days = (end - start).days
    use_revenue = s.rfm_monetary == "revenue" and revenue_recorded(engine, as_of)
    money = f"coalesce(CAST(revenue AS {MONEY}), 0)" if use_revenue else f"CAST(amount AS {MONEY})"
    return f"""
        SELECT customer_id,
               CAST(max(txn_time) AS DATE) AS last_txn_date,
               count(*) FILTER (WHERE {in_window}) AS txn_count,
               {d.distinct_days(day, days, in_window)} AS active_days,
               sum({money}) FILTER (WHERE {in_window}) AS monetary,
               count(*) FILTER (WHERE {in_window} AND channel IN ({_in_list(DIGITAL_CHANNELS)}))
                   AS digital_txn_count
        FROM transactions
        WHERE customer_initiated AND txn_time < TIMESTAMP '{end.isoformat()}'
        GROUP BY customer_id
    """


def contacts_sql(engine: Engine, as_of: dt.date) -> str:
    """Last relationship-manager contact per customer up to as_of (empty without the table)."""
    if not engine.has_table("rm_contacts"):
        return (
            "SELECT CAST(NULL AS STRING) AS customer_id, CAST(NULL AS DATE) AS last_contact"
            " WHERE FALSE"
        )
    return f"""
        SELECT customer_id, max(CAST(contact_date AS DATE)) AS last_contact
        FROM rm_contacts
        WHERE contact_date <= {date_literal(as_of)}
        GROUP BY customer_id
    """


def fetch_frame(engine: Engine, sql: str) -> pd.DataFrame:
    """Run a query into pandas through Arrow: dates as datetime.date, integer and boolean
    columns nullable only where they hold nulls (NULL-free ones become numpy dtypes)."""
    return arrow_frame(engine.arrow(sql))


NULLABLE_TYPES = {
    pa.int32(): pd.Int64Dtype(),
    pa.int64(): pd.Int64Dtype(),
    pa.bool_(): pd.BooleanDtype(),
}


def arrow_frame(table: pa.Table) -> pd.DataFrame:
    """`fetch_frame`'s conversion. Only integer and boolean columns that hold nulls go
    through pandas' masked arrays; NULL-free ones convert straight to numpy (int64, bool),
    which at a million rows is most of the conversion's cost saved."""
    masked = {
        name: NULLABLE_TYPES[column.type].__from_arrow__(column)
        for name, column in zip(table.column_names, table.columns, strict=True)
        if column.type in NULLABLE_TYPES and column.null_count
    }
    plain = table.drop_columns(list(masked))
    widen = [i for i, t in enumerate(plain.schema.types) if t == pa.int32()]
    for i in widen:
        plain = plain.set_column(i, plain.field(i).name, plain.column(i).cast(pa.int64()))
    frame = plain.to_pandas(date_as_object=True)
    columns = {name: masked[name] if name in masked else frame[name] for name in table.column_names}
    return pd.DataFrame(columns, index=frame.index, copy=False)
