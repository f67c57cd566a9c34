"""Warnings about an ingest that passed but may not mean what the bank thinks.

Nothing here rejects a row: each finding is a sentence a person must read -- printed by
`crm ingest`, `crm validate` and `crm run`, kept in interim/manifest.json and the run
manifest, and shown in every report's data-quality appendix:
- a month with no transactions (or no balance snapshot) between the first and the last:
  a monthly export is probably missing;
- `customer_initiated_txn_types` matching no transaction: every customer would look
  dormant (a typo, or another system's codes);
- an optional column empty in every row: mapped to a header no file has, or never
  filled (a mapping mistake reads as "no data") -- unless the source config lists it
  under the table's `absent` (columns its exports do not have);
- a file whose content is another file's of the same table (a monthly export saved
  twice under two names): every row of it is dropped as an exact duplicate, counted but
  not otherwise said;
- an optional column whose header some files of a table have and others lack (a header
  renamed in one month's export): the rows of those files have it empty, which no
  table-wide count shows;
- a header name given twice in a file (one the config reads stops the run: headers.py);
- a liability product (loan, credit card) whose balances are mostly negative: the data
  contract has them as amounts owed, positive; an export that signs them would make
  every loan cost the bank its margin (a few negative ones, a card paid in excess, are
  ordinary).
Each query reads one or two columns of the typed parts, rows that cast only.

A finding is a code with its parameters (`{"code": "empty_column", "table": ...}`),
kept so in the manifest and worded in English here (`describe`, for the command line
and the run manifest) and in the report's language by the report
(pipeline.report.vocabulary.data_warning).
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

import duckdb

from pipeline.ingest.cast import ident, lit, part_columns
from pipeline.periods import period_of
from pipeline.schema import LIABILITY_PRODUCTS

if TYPE_CHECKING:
    from pipeline.ingest.parts import FileEntry
    from pipeline.ingest.source import SourceConfig, TableSpec

MONTHLY = {"transactions": "txn_time", "balances": "month_end"}  # tables exported monthly
TOP_TYPES = 5  # transaction types named when the customer-initiated list matches none


def ingest_findings(
    con: duckdb.DuckDBPyConnection,
    source: SourceConfig,
    entries: list[FileEntry],
    as_of: date,
) -> list[dict[str, Any]]:
    """Every finding of a staged and classified ingest, in a fixed order."""
    out: list[dict[str, Any]] = [
        {"code": "repeated_header", "file": e.file, "column": name}
        for e in sorted(entries, key=lambda e: (e.table, e.file))
        for name in e.repeated_headers
    ]
    out += copied_files(entries)
    out += absent_in_some_files(source, entries)
    for name, spec in source.tables.items():
        if name in MONTHLY:
            out += missing_months(con, spec, MONTHLY[name], as_of)
        if name == "transactions":
            out += initiated_types(con, source, as_of)
        if name == "balances":
            out += signed_liabilities(con)
        out += empty_columns(con, spec)
    return out


def describe(finding: dict[str, Any]) -> str:
    """A finding in English words, as the command line and the run manifest show it."""
    f = finding
    match f["code"]:
        case "repeated_header":
            return (
                f"{f['file']}: column {f['column']!r} appears more than once in the header "
                "(not read)"
            )
        case "missing_months":
            span = f["start"] + ("" if f["end"] == f["start"] else f" to {f['end']}")
            return (
                f"{f['table']}: no rows for {span}, between {f['first']} and {f['last']}: "
                "is a monthly export missing?"
            )
        case "initiated_types_match_none":
            return (
                f"customer_initiated_txn_types ({', '.join(f['listed'])}) matches none of the "
                f"{f['transactions']:,} transactions, whose most frequent types are "
                f"{', '.join(f['frequent'])}: every customer will look dormant; "
                f"check the list in {f['config']}"
            )
        case "empty_column":
            return (
                f"{f['table']}.{f['column']}: empty in every row (source column "
                f"{f['source']!r}: absent from the files or never filled)"
            )
        case "copied_file":
            return (
                f"{f['file']}: the same bytes as {f['copy_of']}: its rows were dropped as "
                "exact duplicates; is one of the two misnamed (a month exported twice)?"
            )
        case "absent_in_some_files":
            return (
                f"{f['table']}.{f['column']}: {f['lacking']:,} of the {f['of']:,} files have no "
                f"column {f['source']!r} ({', '.join(f['files'])}"
                f"{', ...' if f['lacking'] > len(f['files']) else ''}): their rows have it "
                "empty; was the header renamed in those exports?"
            )
        case "negative_liabilities":
            return (
                f"balances: {f['negative']:,} of the {f['rows']:,} {f['product']} balances are "
                "negative; amounts owed are positive in the data contract: if the export "
                "signs them, map balance with an expression such as abs(...) in the "
                "source config"
            )
        case "text":  # a manifest written before findings had codes: its sentence
            return f["text"]
    raise ValueError(f"unknown ingest finding {f['code']!r}")


def manifest_findings(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """The findings an ingest manifest keeps; one written before findings had codes keeps
    its English sentences, each a finding of code "text"."""
    if "findings" in manifest:
        return list(manifest["findings"])
    return [{"code": "text", "text": w} for w in manifest.get("warnings", [])]


def _month_after(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def missing_months(
    con: duckdb.DuckDBPyConnection, spec: TableSpec, column: str, as_of: date
) -> list[dict[str, Any]]:
    """Calendar months between the table's first and last month holding no row, a
    finding per run of consecutive months."""
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
    return [
        {
            "code": "missing_months",
            "table": spec.name,
            "start": period_of(gap[0]),
            "end": period_of(gap[-1]),
            "first": first,
            "last": last,
        }
        for gap in gaps
    ]


def initiated_types(
    con: duckdb.DuckDBPyConnection, source: SourceConfig, as_of: date
) -> list[dict[str, Any]]:
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
        {
            "code": "initiated_types_match_none",
            "listed": list(listed),
            "transactions": int(total),
            "frequent": [str(t) for (t,) in seen],
            "config": source.path.name,
        }
    ]


def signed_liabilities(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Liability products whose accepted balances are more often negative than not."""
    products = ", ".join(lit(p) for p in LIABILITY_PRODUCTS)
    rows = con.execute(
        "SELECT product, count(*) FILTER (WHERE balance < 0), count(*) FROM all_balances "
        f"WHERE _reason IS NULL AND product IN ({products}) GROUP BY product ORDER BY product"
    ).fetchall()
    return [
        {"code": "negative_liabilities", "product": str(p), "negative": int(n), "rows": int(t)}
        for p, n, t in rows
        if 2 * n > t
    ]


def copied_files(entries: list[FileEntry]) -> list[dict[str, Any]]:
    """Each file whose bytes are those of an earlier file (by name) of the same table."""
    out, first = [], {}
    for e in sorted(entries, key=lambda e: (e.table, e.file)):
        key = (e.table, e.sha256)
        if key in first:
            out.append(
                {"code": "copied_file", "table": e.table, "file": e.file, "copy_of": first[key]}
            )
        else:
            first[key] = e.file
    return out


def absent_in_some_files(source: SourceConfig, entries: list[FileEntry]) -> list[dict[str, Any]]:
    """Per table and optional column: the files lacking its header, when another file of
    the table has it (in none: empty_columns says so). The first three files are named."""
    out = []
    for name, spec in source.tables.items():
        files = sorted((e for e in entries if e.table == name), key=lambda e: e.file)
        for column in dict.fromkeys(c for e in files for c in e.absent_columns):
            if column in spec.absent:
                continue
            lacking = [e.file for e in files if column in e.absent_columns]
            if len(lacking) < len(files):
                out.append(
                    {
                        "code": "absent_in_some_files",
                        "table": name,
                        "column": column,
                        "source": " ".join(spec.columns[column]),
                        "files": lacking[:3],
                        "lacking": len(lacking),
                        "of": len(files),
                    }
                )
    return out


def empty_columns(con: duckdb.DuckDBPyConnection, spec: TableSpec) -> list[dict[str, Any]]:
    """Optional columns with no value in any row that cast (the table has such rows), but
    those the source config says its exports do not have (`absent`)."""
    optional = [c for c in part_columns(spec) if not c.required and c.name not in spec.absent]
    if not optional:
        return []
    counts = ", ".join(f"count({ident(c.name)})" for c in optional)
    row = con.execute(
        f"SELECT count(*), {counts} FROM all_{spec.name} WHERE _reason IS NULL"
    ).fetchall()[0]
    if not row[0]:
        return []
    return [
        {
            "code": "empty_column",
            "table": spec.name,
            "column": column.name,
            "source": " ".join(spec.columns[column.name]),
        }
        for column, filled in zip(optional, row[1:], strict=True)
        if not filled
    ]
