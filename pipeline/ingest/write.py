"""Ingest's outputs: canonical tables, rejects, manifest, and the texts people read.

Tables stream from DuckDB as Arrow record batches into one Parquet writer with fixed
settings and an explicit schema, sorted by the table's `sort_by`, so the same input
gives the same bytes and 15M transactions never sit in pandas.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.catalog import Catalog
from pipeline.ingest.cast import ident, lit, part_columns
from pipeline.io import remove_output, write_json, write_with
from pipeline.schema import TABLES, Column

if TYPE_CHECKING:
    from pipeline.ingest.run import IngestResult

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


def _write_query(con, sql: str, schema: pa.Schema, target) -> None:
    def writer(tmp) -> None:
        reader = con.sql(sql).to_arrow_reader(ROW_GROUP)
        with pq.ParquetWriter(tmp, schema, compression="zstd", write_statistics=True) as out:
            for batch in reader:
                out.write_table(pa.Table.from_batches([batch]).cast(schema))

    write_with(target, writer)


def output_columns(result: IngestResult, name: str) -> list[Column]:
    spec = result.source.tables[name]
    return [c for c in spec.columns_out]


def write_outputs(con, result: IngestResult, catalog: Catalog) -> None:
    """Accepted rows to interim/<table>.parquet; every other row to rejects/<table>.parquet."""
    initiated = ", ".join(lit(t) for t in result.source.customer_initiated_txn_types) or "NULL"
    for name, spec in result.source.tables.items():
        cols = output_columns(result, name)
        exprs = []
        for c in cols:
            if c.name == "customer_initiated":
                exprs.append(f"coalesce(txn_type IN ({initiated}), false) AS customer_initiated")
            else:
                exprs.append(ident(c.name))
        order = ", ".join(ident(k) for k in spec.table.sort_by)
        schema = pa.schema([(c.name, ARROW_TYPES[c.dtype]) for c in cols])
        _write_query(
            con,
            f"SELECT {', '.join(exprs)} FROM cls_{name} "
            f"WHERE _status = 'accepted' ORDER BY {order}",
            schema,
            catalog.interim_table(name),
        )
        canonical = ", ".join(f"{lit(c.name)}, {ident(c.name)}" for c in part_columns(spec))
        _write_query(
            con,
            f"SELECT _file AS source_file, _line AS line_number, _rcol AS column, _rsn AS reason, "
            f"_rval AS value, coalesce(_raw, json_object({canonical})::VARCHAR) AS raw "
            f"FROM cls_{name} WHERE _status <> 'accepted' "
            "ORDER BY source_file, line_number, reason",
            REJECT_SCHEMA,
            catalog.rejects_dir / f"{name}.parquet",
        )
    for name in TABLES:  # a table this source does not map must not linger from another
        if name not in result.source.tables:
            for stale in (catalog.interim_table(name), catalog.rejects_dir / f"{name}.parquet"):
                remove_output(stale)


def manifest(result: IngestResult, catalog: Catalog) -> dict:
    return {
        "source": result.source.name,
        "source_config": str(result.source.path),
        "raw_dir": str(result.raw_dir),
        "as_of": result.as_of.isoformat(),
        "as_of_basis": result.as_of_basis,
        "max_reject_rate": result.max_reject_rate,
        "reconciled": all(
            t["rows_read"] == t["accepted"] + t["rejected"] + t["duplicates_dropped"]
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
    }


def write_manifest(result: IngestResult, catalog: Catalog) -> None:
    write_json(manifest(result, catalog), catalog.ingest_manifest)


def _line(name: str, c: dict) -> str:
    return (
        f"{name}: {c['rows_read']:,} read, {c['accepted']:,} accepted, {c['rejected']:,} rejected "
        f"({c['reject_rate']:.2%}), {c['duplicates_dropped']:,} duplicates dropped"
    )


def summary(result: IngestResult) -> str:
    parsed = sum(e.parsed for e in result.files)
    lines = [_line(n, c) for n, c in result.tables.items()]
    lines.append(
        f"as-of {result.as_of.isoformat()} ({result.as_of_basis}); "
        f"{parsed} file(s) parsed, {len(result.files) - parsed} reused"
    )
    return "\n".join(lines)


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
        for file, line, column, reason, value in result.samples.get(name, []):
            out.append(f"    e.g. {file}:{line} column {column}: {reason} (value {value!r})")
    out.append("")
    out.append(
        "FAIL" if result.over_threshold else "OK: every table reconciles and is under the threshold"
    )
    return "\n".join(out)
