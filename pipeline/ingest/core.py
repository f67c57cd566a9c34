"""The ingest stage's computation, over a DuckDB connection with every table staged.

Staging (staging.py) has given one view per table of typed rows (`all_<table>`) and the
rows DuckDB could not split (`bad_<table>`). Here the as-of date is fixed, and each
table's rows are classified -- accepted, rejected with a reason, or a duplicate dropped
-- in one sorted pass that hands the accepted rows to the edge's writer (accept.py,
checks.py); then read = accepted + rejected + duplicates is reconciled, table by table.
Nothing here opens a file: the edge (stage.py) owns the folders and the writers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from pipeline.errors import InputError
from pipeline.ingest import accept, checks, quality, shaping
from pipeline.periods import as_of_date

if TYPE_CHECKING:
    from pipeline.ingest.arrow_out import ParquetOut
    from pipeline.ingest.parts import FileEntry
    from pipeline.ingest.source import SourceConfig, TableSpec


@dataclass
class IngestResult:
    """Everything a run learnt: per-table counts, files, the as-of and what failed."""

    source: SourceConfig
    raw_dir: Path
    as_of: date
    as_of_basis: str
    max_reject_rate: float
    tables: dict[str, dict[str, Any]]
    files: list[FileEntry]
    samples: dict[str, list[tuple]] = field(default_factory=dict)
    findings: list[dict[str, Any]] = field(default_factory=list)  # quality.py: codes

    @property
    def warnings(self) -> list[str]:
        """The findings in English, for a person to read."""
        return [quality.describe(f) for f in self.findings]

    @property
    def over_threshold(self) -> list[str]:
        return [t for t, c in self.tables.items() if c["reject_rate"] > self.max_reject_rate]


def resolve_as_of(
    period: str | None, source: SourceConfig, con: duckdb.DuckDBPyConnection
) -> tuple[date, str]:
    """The latest date an export may hold: source `as_of`, else the period's, else the data's."""
    if source.as_of is not None:
        return source.as_of, f"source config as_of ({source.path.name})"
    if period:
        return as_of_date(period), f"period {period}"
    derived = checks.derive_as_of(con, "all_transactions")
    if derived is None:
        raise InputError(
            "no parseable transaction dates: cannot tell the data's as-of date; set `period`"
        )
    return derived, (
        "last month of the transactions (contiguous from the busiest month, months with "
        f"under {checks.STRAY_SHARE:.0%} of its transactions not counted)"
    )


def classify_tables(
    con: duckdb.DuckDBPyConnection,
    source: SourceConfig,
    entries: list[FileEntry],
    explicit_lines: set[str],
    as_of: date,
    salt: str | None,
    open_output: Callable[[str, TableSpec], ParquetOut | None],
) -> tuple[dict[str, dict[str, Any]], dict[str, list[tuple]]]:
    """Per table, in the source's order: its counts (read, accepted, rejected, duplicates,
    reject rate, files) and up to five sample rejects; the accepted rows go to
    `open_output(name, spec)`'s writer (None: counted only, as validation does).

    Customers come first: later tables' rows must name an accepted customer.
    """
    tables: dict[str, dict[str, Any]] = {}
    samples: dict[str, list[tuple]] = {}
    customer_ids = None
    for name, spec in source.tables.items():
        kept = accept.sorted_pass(
            con,
            spec,
            as_of,
            customer_ids,
            name in explicit_lines,
            salt,
            source.customer_initiated_txn_types,
            open_output(name, spec),
        )
        if name == "customers":
            customer_ids = accept.rank_customers(con, checks.accepted_rows("customers"), salt)
        elif checks.has_fk(spec, "customers" if customer_ids is not None else None):
            checks.name_rejected_customers(con, name)
        counted = checks.counts(con, name)
        counted.update(shaping.line_counts(con, spec))
        own = [e for e in entries if e.table == name]
        reconcile(con, name, counted, own, source)
        if kept != counted["accepted"]:
            raise InputError(
                f"{name}: rows do not reconcile: {kept} accepted rows written, "
                f"{counted['accepted']} counted; nothing was written"
            )
        read = counted["rows_read"]
        counted["reject_rate"] = round(counted["rejected"] / read, 6) if read else 0.0
        counted["files"] = len(own)
        tables[name] = counted
        samples[name] = sample_rejects(con, name)
    return tables, samples


def sample_rejects(con: duckdb.DuckDBPyConnection, name: str, most: int = 5) -> list[tuple]:
    """(file, line, column, reason, value, rejects for the reason, of them in the file):
    one example per reason, the commonest reasons first (at most `most`), each from the
    file holding most of that reason's rejects -- the file to open -- at its first line."""
    return con.execute(
        f"""
        WITH r AS (
            SELECT f.file, c._line AS line, c._rcol AS col, c._rsn AS reason, c._rval AS value
            FROM cls_{name} c JOIN files_{name} f ON c._file = f._file
            WHERE c._status = 'rejected'
            UNION ALL
            SELECT f.file, b._line, NULL, 'malformed_row', b._error
            FROM bad_{name} b JOIN files_{name} f ON b._file = f._file
        ), counted AS (
            SELECT *, count(*) OVER (PARTITION BY reason) AS of_reason,
                   count(*) OVER (PARTITION BY reason, file) AS in_file
            FROM r
        )
        SELECT file, line, col, reason, value, of_reason, in_file FROM counted
        QUALIFY row_number() OVER (PARTITION BY reason ORDER BY in_file DESC, file, line) = 1
        ORDER BY of_reason DESC, reason LIMIT {int(most)}
        """
    ).fetchall()


def reconcile(
    con: duckdb.DuckDBPyConnection,
    name: str,
    counted: dict,
    entries: list[FileEntry],
    source: SourceConfig,
) -> None:
    """read (from the files) = rows classified (+ lines excluded or merged by the source
    config) = accepted + rejected + duplicates (+ those lines), or stop. A table an
    adapter builds or the source config derives has no rows of its own in files."""
    classified = con.execute(
        f"SELECT (SELECT count(*) FROM all_{name}) + (SELECT count(*) FROM bad_{name})"
    ).fetchall()[0][0]
    total = counted["accepted"] + counted["rejected"] + counted["duplicates_dropped"]
    built = source.built_by_adapter(name) or source.tables[name].derive_from is not None
    aside = shaping.set_aside(counted)
    from_files = classified + aside if built else sum(e.rows_read for e in entries)
    if "lines_excluded" in counted or "lines_merged" in counted:  # a shaped table
        counted["lines_read"] = from_files
    if not (from_files == classified + aside and classified == total):
        raise InputError(
            f"{name}: rows do not reconcile: {from_files} read from files, "
            f"{aside} excluded or merged by the source config, {classified} classified, "
            f"{counted['accepted']} accepted + {counted['rejected']} rejected + "
            f"{counted['duplicates_dropped']} duplicates = {total}; nothing was written"
        )
