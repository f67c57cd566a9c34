"""Data contracts over all files of a table: ranges, dates, foreign keys and keys.

Every row read ends in exactly one of four states, so read = accepted + rejected +
duplicates holds by construction and is still checked before anything is written:
- rejected: a cast failure from cast.py, or the first failing check below, in order;
- conflicting_key (rejected): rows sharing a key but differing in any other value --
  none of them is trusted, all are rejected;
- exact_duplicate: a row identical (after casting) to an earlier one with the same key,
  dropped and counted; the earliest (by file, then line) is kept;
- accepted.
"""

from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd

from pipeline.ingest.cast import ident, lit, part_columns
from pipeline.ingest.source import TableSpec
from pipeline.schema import ASSET_PRODUCTS

NPS_MIN, NPS_MAX = 0, 10


def range_checks(spec: TableSpec, as_of: date, has_fk: bool) -> list[tuple[str, str, str]]:
    """(condition, reason, column) on typed columns, in the order they are tried."""
    checks: list[tuple[str, str, str]] = []
    cutoff = f"DATE {lit(as_of.isoformat())}"
    for c in part_columns(spec):
        if c.dtype == "date":
            checks.append((f"{ident(c.name)} > {cutoff}", "after_as_of", c.name))
        elif c.dtype == "timestamp":
            checks.append((f"{ident(c.name)}::DATE > {cutoff}", "after_as_of", c.name))
    name = spec.name
    if name == "customers":
        checks.append(("close_date < open_date", "close_before_open", "close_date"))
    if name == "transactions":
        checks.append(("amount <= 0", "amount_not_positive", "amount"))
    if name == "balances":
        assets = ", ".join(lit(p) for p in ASSET_PRODUCTS)
        checks.append((f"product IN ({assets}) AND balance < 0", "negative_balance", "balance"))
        checks.append(("month_end <> last_day(month_end)", "not_month_end", "month_end"))
    if spec.survey:
        lo, hi = spec.survey.scale_min, spec.survey.scale_max
        for item in spec.survey.items:
            x = ident(item)
            checks.append(
                (
                    f"{x} IS NOT NULL AND ({x} < {lo} OR {x} > {hi} OR {x} <> floor({x}))",
                    "likert_out_of_scale",
                    item,
                )
            )
        if spec.survey.nps_item:
            x = ident(spec.survey.nps_item)
            checks.append(
                (
                    f"{x} IS NOT NULL AND "
                    f"({x} < {NPS_MIN} OR {x} > {NPS_MAX} OR {x} <> floor({x}))",
                    "nps_out_of_range",
                    spec.survey.nps_item,
                )
            )
    if has_fk:
        checks.append(
            ("customer_id IS NOT NULL AND _fk_id IS NULL", "unknown_customer", "customer_id")
        )
    return checks


def classify(
    con: duckdb.DuckDBPyConnection,
    spec: TableSpec,
    all_table: str,
    out_table: str,
    as_of: date,
    customers_table: str | None,
) -> None:
    """Create `out_table`: every row of `all_table` with reason, column, value and status."""
    cols = [ident(c.name) for c in part_columns(spec)]
    has_fk = customers_table is not None and "customer_id" in spec.table.foreign_keys
    checks = range_checks(spec, as_of, has_fk)

    # the first failing check's index, computed once; reason, column, value follow from it
    fail = (
        "CASE "
        + " ".join(f"WHEN {cond} THEN {i}" for i, (cond, _, _) in enumerate(checks, 1))
        + " END"
        if checks
        else "NULL::INTEGER"
    )
    names = "[" + ", ".join(lit(r) for _, r, _ in checks) + "]::VARCHAR[]"
    columns = "[" + ", ".join(lit(c) for _, _, c in checks) + "]::VARCHAR[]"
    values = " ".join(
        f"WHEN {i} THEN CAST({ident(c)} AS VARCHAR)" for i, (_, _, c) in enumerate(checks, 1)
    )
    reason = f"coalesce(_reason, list_extract({names}, _chk))"
    column = f"CASE WHEN _reason IS NOT NULL THEN _column ELSE list_extract({columns}, _chk) END"
    value = (
        f"CASE WHEN _reason IS NOT NULL THEN _value ELSE CASE _chk {values} END END"
        if checks
        else "_value"
    )
    source = all_table
    if has_fk:
        source = (
            f"(SELECT a.*, f._fk_id FROM {all_table} a LEFT JOIN "
            f"(SELECT DISTINCT customer_id AS _fk_id FROM {customers_table}) f "
            f"ON a.customer_id = f._fk_id)"
        )
    key = [ident(k) for k in spec.table.key]
    row = "struct_pack(" + ", ".join(f"{c} := {c}" for c in cols) + ")"
    same_key = " AND ".join(f"c.{k} IS NOT DISTINCT FROM d.{k}" for k in key)
    key_text = " || ', ' || ".join(f"coalesce(CAST({k} AS VARCHAR), '')" for k in key)
    chk, multi = f"{out_table}_chk", f"{out_table}_multi"
    # 1) row checks; 2) keys held by more than one valid row (few, found by a hash
    # aggregate); 3) only those rows are compared exactly and ranked by file and line.
    con.execute(
        f"""
        CREATE TABLE {chk} AS
        SELECT _file, _line, {", ".join(cols)}, _raw,
               {reason} AS _rsn, {column} AS _rcol, {value} AS _rval
        FROM (SELECT *, CASE WHEN _reason IS NULL THEN {fail} END AS _chk FROM {source})
        """
    )
    con.execute(
        f"""
        CREATE TABLE {multi} AS
        WITH repeated AS (
            SELECT {", ".join(key)} FROM {chk} WHERE _rsn IS NULL
            GROUP BY ALL HAVING count(*) > 1
        ), rows AS (
            SELECT c.rowid AS _row, c.* FROM {chk} c
            SEMI JOIN repeated d ON {same_key}
            WHERE c._rsn IS NULL
        )
        SELECT _row,
               min({row}) OVER w IS DISTINCT FROM max({row}) OVER w AS _conflict,
               row_number() OVER (w ORDER BY _file, _line, _row) AS _rn
        FROM rows
        WINDOW w AS (PARTITION BY {", ".join(key)})
        """
    )
    con.execute(
        f"""
        CREATE TABLE {out_table} AS
        SELECT c._file, c._line, {", ".join("c." + col for col in cols)}, c._raw,
            CASE WHEN c._rsn IS NOT NULL THEN c._rsn
                 WHEN m._conflict THEN 'conflicting_key'
                 WHEN m._rn > 1 THEN 'exact_duplicate' END AS _rsn,
            CASE WHEN c._rsn IS NOT NULL THEN c._rcol
                 WHEN m._conflict OR m._rn > 1 THEN {lit(", ".join(spec.table.key))} END AS _rcol,
            CASE WHEN c._rsn IS NOT NULL THEN c._rval
                 WHEN m._conflict OR m._rn > 1 THEN {key_text} END
                 AS _rval,
            CASE WHEN c._rsn IS NOT NULL OR m._conflict THEN 'rejected'
                 WHEN m._rn > 1 THEN 'duplicate' ELSE 'accepted' END AS _status
        FROM (SELECT rowid AS _row, * FROM {chk}) c LEFT JOIN {multi} m USING (_row)
        """
    )
    con.execute(f"DROP TABLE {chk}; DROP TABLE {multi}")


def counts(con: duckdb.DuckDBPyConnection, cls_table: str) -> dict:
    """Rows read, accepted, rejected (by reason) and duplicates dropped of a classified table."""
    rows = con.execute(
        f"SELECT _status, _rsn, count(*) FROM {cls_table} GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    by_reason = {r: n for s, r, n in rows if s == "rejected"}
    accepted = sum(n for s, _, n in rows if s == "accepted")
    duplicates = sum(n for s, _, n in rows if s == "duplicate")
    rejected = sum(by_reason.values())
    return {
        "rows_read": accepted + rejected + duplicates,
        "accepted": accepted,
        "rejected": rejected,
        "rejected_by_reason": dict(sorted(by_reason.items())),
        "duplicates_dropped": duplicates,
    }


def derive_as_of(con: duckdb.DuckDBPyConnection, transactions_table: str) -> date | None:
    """The last day of the data's last month, where a lone far-off date cannot stretch it.

    Start at the month holding most transactions and walk forward while the next
    calendar month also holds transactions; the as-of is the end of the last month
    reached. A stray '2099-01-01' sits after a gap, so it lands after the as-of and is
    rejected instead of moving the as-of to 2099.
    """
    months = con.execute(
        f"SELECT date_trunc('month', txn_time)::DATE AS m, count(*) AS n FROM {transactions_table} "
        "WHERE _reason IS NULL GROUP BY m ORDER BY m"
    ).fetchall()
    if not months:
        return None
    present = {m for m, _ in months}
    current = max(months, key=lambda mn: (mn[1], -mn[0].toordinal()))[0]
    while (nxt := (pd.Timestamp(current) + pd.offsets.MonthBegin(1)).date()) in present:
        current = nxt
    return (pd.Timestamp(current) + pd.offsets.MonthEnd(0)).date()
