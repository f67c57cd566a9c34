"""Warnings about an ingest that passed but may not mean what the bank thinks.

Nothing here rejects a row: each finding is a sentence a person must read -- printed by
`crm ingest`, `crm validate` and `crm run`, kept in interim/manifest.json and the run
manifest, and shown in every report's data-quality appendix:
- a month with no transactions (or no balance snapshot) between the first and the last:
  a monthly export is probably missing;
- `customer_initiated_txn_types` matching no transaction: every customer would look
  dormant (a typo, or another system's codes);
- an optional column empty in every row: mapped to a header no file has, or never
  filled (a mapping mistake reads as "no data");
- a header name given twice in a file (one the config reads stops the run: headers.py).
Each query reads one or two columns of the typed parts, rows that cast only.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import duckdb

from pipeline.ingest.cast import ident, lit, part_columns
from pipeline.periods import period_of

if TYPE_CHECKING:
    from pipeline.ingest.parts import FileEntry
    from pipeline.ingest.source import SourceConfig, TableSpec

MONTHLY = {"transactions": "txn_time", "balances": "month_end"}  # tables exported monthly
TOP_TYPES = 5  # transaction types named when the customer-initiated list matches none


def ingest_warnings(
    con: duckdb.DuckDBPyConnection,
    source: SourceConfig,
    entries: list[FileEntry],
    as_of: date,
) -> list[str]:
    """Every warning of a staged and classified ingest, in a fixed order."""
    out = [
        f"{e.file}: column {name!r} appears more than once in the header (not read)"
        for e in sorted(entries, key=lambda e: (e.table, e.file))
        for name in e.repeated_headers
    ]
    for name, spec in source.tables.items():
        if name in MONTHLY:
            out += missing_months(con, spec, MONTHLY[name], as_of)
        if name == "transactions":
            out += initiated_types(con, source, as_of)
        out += empty_columns(con, spec)
    return out


def _month_after(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def missing_months(
    con: duckdb.DuckDBPyConnection, spec: TableSpec, column: str, as_of: date
) -> list[str]:
    """Calendar months between the table's first and last month holding no row."""
    floor = spec.limits.earliest_date if spec.limits is not None else None
    since = f" AND {ident(column)} >= DATE {lit(floor.isoformat())}" if floor else ""
    months = [
        m
        for (m,) in con.execute(
            f"SELECT DISTINCT date_trunc('month', {ident(column)})::DATE AS m "
            f"FROM all_{spec.name} WHERE _reason IS NULL "
            f"AND {ident(column)}::DATE <= DATE {lit(as_of.isoformat())}{since} ORDER BY m"
        ).fetchall()
    ]
    if len(months) < 2:
        return []
    present = set(months)
    gaps: list[list[date]] = []
    month = months[0]
    while month < months[-1]:
        if month not in present:
            if gaps and _month_after(gaps[-1][-1]) == month:
                gaps[-1].append(month)
            else:
                gaps.append([month])
        month = _month_after(month)
    first, last = period_of(months[0]), period_of(months[-1])
    out = []
    for gap in gaps:
        span = period_of(gap[0]) + ("" if len(gap) == 1 else f" to {period_of(gap[-1])}")
        out.append(
            f"{spec.name}: no rows for {span}, between {first} and {last}: "
            "is a monthly export missing?"
        )
    return out


def initiated_types(con: duckdb.DuckDBPyConnection, source: SourceConfig, as_of: date) -> list[str]:
    """The customer-initiated list when it matches no transaction at all."""
    listed = source.customer_initiated_txn_types
    types = ", ".join(lit(t) for t in listed)
    matched, total = con.execute(
        f"SELECT count(*) FILTER (WHERE txn_type IN ({types})), count(*) "
        f"FROM all_transactions WHERE _reason IS NULL "
        f"AND txn_time::DATE <= DATE {lit(as_of.isoformat())}"
    ).fetchall()[0]
    if matched or not total:
        return []
    seen = con.execute(
        "SELECT txn_type FROM all_transactions WHERE _reason IS NULL "
        f"GROUP BY txn_type ORDER BY count(*) DESC, txn_type LIMIT {TOP_TYPES}"
    ).fetchall()
    return [
        f"customer_initiated_txn_types ({', '.join(listed)}) matches none of the "
        f"{total:,} transactions, whose most frequent types are "
        f"{', '.join(str(t) for (t,) in seen)}: every customer will look dormant; "
        f"check the list in {source.path.name}"
    ]


def empty_columns(con: duckdb.DuckDBPyConnection, spec: TableSpec) -> list[str]:
    """Optional columns with no value in any row that cast (the table has such rows)."""
    optional = [c for c in part_columns(spec) if not c.required]
    if not optional:
        return []
    counts = ", ".join(f"count({ident(c.name)})" for c in optional)
    row = con.execute(
        f"SELECT count(*), {counts} FROM all_{spec.name} WHERE _reason IS NULL"
    ).fetchall()[0]
    if not row[0]:
        return []
    out = []
    for column, filled in zip(optional, row[1:], strict=True):
        if not filled:
            sources = " ".join(spec.columns[column.name])
            out.append(
                f"{spec.name}.{column.name}: empty in every row (source column {sources!r}: "
                "absent from the files or never filled)"
            )
    return out
