"""Ingest's outputs: canonical tables, rejects, manifest, and the texts people read.

A canonical table is written by the sorted pass that classifies it (accept.py), sorted
by the table's `sort_by` and then its key -- a total order, since accepted keys are
unique -- through one Parquet writer with fixed settings and an explicit schema
(arrow_out.py), into the run's work folder; only when every table reconciles is it
moved into place. So the same input gives the same bytes and 15M transactions never
sit in pandas.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from pipeline.catalog import Catalog
from pipeline.ingest.arrow_out import ParquetOut, write_query
from pipeline.ingest.cast import ident, lit, part_columns
from pipeline.ingest.shaping import absent_table_sql, set_aside
from pipeline.ingest.source import TableSpec
from pipeline.ingest.staging import dictionary_columns
from pipeline.io import remove_output, write_json, write_with
from pipeline.schema import REQUIRED_TABLES, TABLES

if TYPE_CHECKING:
    from pipeline.ingest.core import IngestResult

ARROW_TYPES = {
    "string": pa.string(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us"),
    "float64": pa.float64(),
    "int64": pa.int64(),
    "bool": pa.bool_(),
}
REJECT_SCHEMA = pa.schema(
    [
        ("source_file", pa.string()),
        ("line_number", pa.int64()),
        ("column", pa.string()),
        ("reason", pa.string()),
        ("value", pa.string()),
        ("raw", pa.string()),
    ]
)
ROW_GROUP = 1_000_000
# Canonical tables are written once and scanned many times a run (each feature mart,
# the BTYD summaries, churn labels): LZ4 encodes and decodes faster than zstd (at 1M
# customers, ~1.7 CPU-s less to write and ~0.4 less per scan of transactions) for
# files about half again as large.
TABLE_COMPRESSION = "lz4"
TAIL = 1 << 16  # bytes of a written file's end (the Parquet footer) that identify it


def file_identity(path: Path) -> list:
    """Size and sha256 of the last 64 KiB: a Parquet file's footer, row groups and stats."""
    with open(path, "rb") as fh:
        size = fh.seek(0, 2)
        fh.seek(max(0, size - TAIL))
        return [size, hashlib.sha256(fh.read()).hexdigest()]


def open_table(spec: TableSpec, path: Path) -> ParquetOut:
    """The writer of a canonical table's accepted rows (to be moved into place later).

    Min/max statistics for dates, times and numbers, which let scans skip row groups
    (balances by month end, transactions by time); for text they would cost a fifth of
    encoding a table and no query filters a row group away by a text range."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return ParquetOut(
        path,
        pa.schema([(c.name, ARROW_TYPES[c.dtype]) for c in spec.columns_out]),
        compression=TABLE_COMPRESSION,
        dictionary=dictionary_columns(spec),
        row_group=ROW_GROUP,
        statistics=[c.name for c in spec.columns_out if c.dtype != "string"],
    )


def _write(
    con, sql: str, target: Path, schema: pa.Schema, dictionary: list[str], written: dict
) -> int:
    """Write a query to `target` atomically; the rows written; `written` gets its identity."""
    rows: list[int] = []

    def writer(tmp) -> None:
        rows.append(
            write_query(
                con,
                sql,
                tmp,
                compression="zstd",
                dictionary=dictionary,
                row_group=ROW_GROUP,
                schema=schema,
            )
        )
        written[str(target)] = file_identity(tmp)

    write_with(target, writer)
    return int(rows[0])


def write_outputs(
    con, result: IngestResult, catalog: Catalog, staged: dict[str, Path]
) -> dict[str, list]:
    """Accepted rows to interim/<table>.parquet (moved from `staged`, where the sorted
    pass wrote them); every other row to rejects/<table>.parquet.

    customer_id is written as the sorted pass wrote it (the salted pseudonym when ids
    are hashed, pipeline.privacy); rejects keep the export's own values, like the raw
    files they point into, so the data team can fix the export.
    Returns each written file's identity (file_identity) by path, for the next run's skip.
    """
    written: dict[str, list] = {}
    for name, spec in result.source.tables.items():
        target = catalog.interim_table(name)

        def move(tmp: Path, source: Path = staged[name], target: Path = target) -> None:
            os.replace(source, tmp)
            written[str(target)] = file_identity(tmp)

        write_with(target, move)
        canonical = ", ".join(f"{lit(c.name)}, c.{ident(c.name)}" for c in part_columns(spec))
        _write(
            con,
            f"""
            SELECT f.file::VARCHAR AS source_file, c._line::BIGINT AS line_number,
                   c._rcol::VARCHAR AS "column", c._rsn::VARCHAR AS reason,
                   c._rval::VARCHAR AS value,
                   coalesce(c._raw, json_object({canonical})::VARCHAR) AS raw
            FROM cls_{name} c JOIN files_{name} f ON c._file = f._file
            WHERE c._status <> 'accepted'
            UNION ALL
            SELECT f.file, b._line, NULL, 'malformed_row', b._error, b._raw
            FROM bad_{name} b JOIN files_{name} f ON b._file = f._file
            ORDER BY source_file, line_number, reason, value, raw
            """,
            catalog.rejects_dir / f"{name}.parquet",
            REJECT_SCHEMA,
            ["source_file", "column", "reason"],
            written,
        )
    for name in TABLES:  # a table this source does not map must not linger from another
        if name not in result.source.tables:
            for stale in (catalog.interim_table(name), catalog.rejects_dir / f"{name}.parquet"):
                remove_output(stale)
            if name in REQUIRED_TABLES:  # balances: none in this source, an empty table
                schema = pa.schema([(c.name, ARROW_TYPES[c.dtype]) for c in TABLES[name].columns])
                sql = absent_table_sql(TABLES[name])
                _write(con, sql, catalog.interim_table(name), schema, [], written)
    return written


def manifest(result: IngestResult, catalog: Catalog) -> dict:
    return {
        "source": result.source.name,
        "source_config": str(result.source.path),
        "raw_dir": str(result.raw_dir),
        "as_of": result.as_of.isoformat(),
        "as_of_basis": result.as_of_basis,
        # the source config's as_of: its month is complete even without a transaction on
        # its last day (pipeline.periods.latest_complete_period)
        "as_of_declared": result.source.as_of is not None,
        "max_reject_rate": result.max_reject_rate,
        "currency": result.source.currency,
        # canonical tables the source does not give (an empty table stands for balances)
        "not_in_source": [t for t in TABLES if t not in result.source.tables],
        "reconciled": all(
            t["rows_read"] == t["accepted"] + t["rejected"] + t["duplicates_dropped"]
            and t.get("lines_read", t["rows_read"]) == t["rows_read"] + set_aside(t)
            for t in result.tables.values()
        ),
        "files": [
            {
                "table": e.table,
                "file": e.file,
                "size": e.size,
                "sha256": e.sha256,
                "rows_read": e.rows_read,
                "line_numbers": "exact" if e.lines_exact else "approximate",
            }
            for e in sorted(result.files, key=lambda e: (e.table, e.file))
        ],
        "tables": {
            name: {
                **counts,
                "output": str(catalog.interim_table(name).relative_to(catalog.data_dir)),
                "rejects": str(
                    (catalog.rejects_dir / f"{name}.parquet").relative_to(catalog.data_dir)
                ),
            }
            for name, counts in result.tables.items()
        },
        "last_run": {
            "files_parsed": sorted(e.file for e in result.files if e.parsed),
            "files_reused": sorted(e.file for e in result.files if not e.parsed),
        },
        "warnings": list(result.warnings),  # in English, as the run printed them
        "findings": list(result.findings),  # the same as codes (quality.py)
    }


def write_manifest(result: IngestResult, catalog: Catalog) -> None:
    write_json(manifest(result, catalog), catalog.ingest_manifest)


def _line(name: str, c: dict) -> str:
    shaped = ""
    if "lines_read" in c:  # a source config excluded or merged lines (ingest.shaping)
        excluded = c.get("lines_excluded") or {}
        parts = [f"{n:,} excluded ({rule})" for rule, n in excluded.items()]
        if "lines_merged" in c:
            parts.append(f"{c['lines_merged']:,} merged into their row's first line")
        shaped = f"{c['lines_read']:,} lines read, {', '.join(parts)}; "
    return (
        f"{name}: {shaped}{c['rows_read']:,} read, {c['accepted']:,} accepted, "
        f"{c['rejected']:,} rejected ({c['reject_rate']:.2%}), "
        f"{c['duplicates_dropped']:,} duplicates dropped"
    )


def summary(result: IngestResult) -> str:
    parsed = sum(e.parsed for e in result.files)
    lines = [_line(n, c) for n, c in result.tables.items()]
    lines.append(
        f"as-of {result.as_of.isoformat()} ({result.as_of_basis}); "
        f"{parsed} file(s) parsed, {len(result.files) - parsed} reused"
    )
    return "\n".join(lines)  # the warnings are logged once, by the stage (run_ingest)


def _shown(reason: str, value: object) -> str:
    """A sample reject's value; for a row that cannot be split, DuckDB's reason why."""
    return f"{value}" if reason == "malformed_row" else f"value {value!r}"


def report(result: IngestResult) -> str:
    """The readable validation report: per table counts, reasons and sample rejects."""
    out = [
        f"source {result.source.name} ({result.source.path}); exports in {result.raw_dir}",
        f"as-of {result.as_of.isoformat()} ({result.as_of_basis}); "
        f"max reject rate {result.max_reject_rate:.2%}",
        "",
    ]
    for name, c in result.tables.items():
        flag = "  FAIL: over the reject-rate threshold" if name in result.over_threshold else ""
        out.append(_line(name, c) + flag)
        for reason, n in c["rejected_by_reason"].items():
            out.append(f"    {reason}: {n:,}")
        for file, line, column, reason, value, of_reason, in_file in result.samples.get(name, []):
            where = f" column {column}" if column is not None else ""  # a malformed row
            share = f"; {in_file:,} of the {of_reason:,} in this file" if of_reason > 1 else ""
            out.append(f"    e.g. {file}:{line}{where}: {reason} ({_shown(reason, value)}{share})")
    out += [f"warning: {w}" for w in result.warnings]
    out.append("")
    out.append(
        "FAIL" if result.over_threshold else "OK: every table reconciles and is under the threshold"
    )
    return "\n".join(out)
