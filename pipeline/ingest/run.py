"""`crm ingest` and `crm validate`: the I/O edge of the ingest stage.

One DuckDB connection (threads 2, `ingest.memory_limit`, spilling to a temporary folder
under <data>/interim) does all the work: stage every table (stage.py), fix the as-of
date, classify the rows while writing the accepted ones to the temporary folder in one
sorted pass (accept.py, checks.py), reconcile read = accepted + rejected + duplicates,
and only then -- when every table reconciles and stays under the reject-rate threshold
-- move the canonical tables into place, write the rejects and, last, the manifest.
Validation runs the same steps and writes nothing. A run whose inputs (every file's
hash), source config, settings and code are those of the last successful run, with its
outputs in place, is skipped: only the manifest's `last_run` is rewritten (skip.py).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from pipeline.catalog import Catalog
from pipeline.errors import ConfigError, InputError
from pipeline.ingest import accept, checks, skip, write
from pipeline.ingest.parts import FileEntry, PartStore
from pipeline.ingest.source import SourceConfig, load_source
from pipeline.ingest.stage import Stager
from pipeline.io import promote_on_success
from pipeline.periods import as_of_date
from pipeline.privacy import id_salt


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

    @property
    def over_threshold(self) -> list[str]:
        return [t for t, c in self.tables.items() if c["reject_rate"] > self.max_reject_rate]


def resolve_as_of(
    cfg: dict, source: SourceConfig, con: duckdb.DuckDBPyConnection
) -> tuple[date, str]:
    """The latest date an export may hold: source `as_of`, else the period's, else the data's."""
    if source.as_of is not None:
        return source.as_of, f"source config as_of ({source.path.name})"
    if cfg.get("period"):
        return as_of_date(cfg["period"]), f"period {cfg['period']}"
    derived = checks.derive_as_of(con, "all_transactions")
    if derived is None:
        raise InputError(
            "no parseable transaction dates: cannot tell the data's as-of date; set `period`"
        )
    return derived, "last month of the transactions (contiguous from the busiest month)"


def ingest(cfg: dict, catalog: Catalog, write_outputs: bool) -> IngestResult:
    """Run ingest; with `write_outputs` False nothing under <data> changes (validate)."""
    source = load_source(cfg["source"], mask_pii=cfg["privacy"]["mask_pii"])
    raw = source.raw_path(catalog.data_dir / "raw")
    if not raw.is_dir():
        raise InputError(f"{raw}: no export folder for source {source.name!r} ({source.path})")
    if write_outputs:
        unchanged = skip.unchanged_run(cfg, source, raw, catalog)
        if unchanged is not None:
            result = _from_manifest(unchanged, source, raw, cfg)
            write.write_manifest(result, catalog)
            return result
        # spill and staging beside the outputs, so the final moves are renames
        catalog.interim_dir.mkdir(parents=True, exist_ok=True)
    spill_root = catalog.interim_dir if write_outputs else None
    with tempfile.TemporaryDirectory(prefix=".ingest-", dir=spill_root) as tmp:
        work = Path(tmp)
        limit = str(cfg["ingest"]["memory_limit"])
        try:
            con = duckdb.connect(
                config={
                    "threads": 2,
                    "memory_limit": limit,
                    "temp_directory": str(work / "spill"),
                    "preserve_insertion_order": True,
                }
            )
        except duckdb.Error as exc:
            raise ConfigError(f"ingest.memory_limit: {limit!r} is not a size: {exc}") from None
        try:
            store = PartStore(catalog.ingest_parts_dir, work / "staging")
            stager = Stager(con, source, raw, store, work)
            if source.adapter:
                stager.stage_adapter()
            else:
                for spec in source.tables.values():
                    stager.stage_files(spec)
            as_of, basis = resolve_as_of(cfg, source, con)
            salt = id_salt(cfg) if write_outputs else None
            tables: dict[str, dict[str, Any]] = {}
            samples: dict[str, list[tuple]] = {}
            staged: dict[str, Path] = {}
            customer_ids = None
            for name, spec in source.tables.items():
                out = None
                if write_outputs:
                    staged[name] = work / "out" / f"{name}.parquet"
                    out = write.open_table(spec, staged[name])
                kept = accept.sorted_pass(
                    con,
                    spec,
                    as_of,
                    customer_ids,
                    name in stager.explicit_lines,
                    salt,
                    source.customer_initiated_txn_types,
                    out,
                )
                if name == "customers":
                    customer_ids = accept.rank_customers(
                        con, checks.accepted_rows("customers"), salt
                    )
                counted = checks.counts(con, name)
                _reconcile(
                    con, name, counted, [e for e in stager.entries if e.table == name], source
                )
                if kept != counted["accepted"]:
                    raise InputError(
                        f"{name}: rows do not reconcile: {kept} accepted rows written, "
                        f"{counted['accepted']} counted; nothing was written"
                    )
                read = counted["rows_read"]
                counted["reject_rate"] = round(counted["rejected"] / read, 6) if read else 0.0
                counted["files"] = sum(1 for e in stager.entries if e.table == name)
                tables[name] = counted
                samples[name] = con.execute(
                    f"""
                    SELECT f.file, c._line, c._rcol, c._rsn, c._rval
                    FROM cls_{name} c JOIN files_{name} f ON c._file = f._file
                    WHERE c._status = 'rejected'
                    UNION ALL
                    SELECT f.file, b._line, NULL, 'malformed_row', b._error
                    FROM bad_{name} b JOIN files_{name} f ON b._file = f._file
                    ORDER BY 1, 2, 4, 5 LIMIT 5
                    """
                ).fetchall()
            result = IngestResult(
                source,
                raw,
                as_of,
                basis,
                cfg["ingest"]["max_reject_rate"],
                tables,
                stager.entries,
                samples,
            )
            if write_outputs and not result.over_threshold:
                with promote_on_success():  # all outputs, or none of them
                    written = write.write_outputs(con, result, catalog, staged)
                    store.commit(skip.last_run(cfg, source, stager.entries, written))
                    write.write_manifest(result, catalog)
            return result
        finally:
            con.close()


def _from_manifest(manifest: dict, source: SourceConfig, raw: Path, cfg: dict) -> IngestResult:
    """The last run's result, as its manifest records it: every file reused."""
    files = [
        FileEntry(
            f["table"],
            f["file"],
            f["size"],
            f["sha256"],
            f["rows_read"],
            f["line_numbers"] == "exact",
            None,
            False,
        )
        for f in manifest["files"]
    ]
    tables = {  # in the source's table order, as a full run reports them
        name: {k: v for k, v in manifest["tables"][name].items() if k not in ("output", "rejects")}
        for name in source.tables
    }
    return IngestResult(
        source,
        raw,
        date.fromisoformat(manifest["as_of"]),
        manifest["as_of_basis"],
        cfg["ingest"]["max_reject_rate"],
        tables,
        files,
    )


def _reconcile(
    con, name: str, counted: dict, entries: list[FileEntry], source: SourceConfig
) -> None:
    """read (from the files) = rows classified = accepted + rejected + duplicates, or stop."""
    classified = con.execute(
        f"SELECT (SELECT count(*) FROM all_{name}) + (SELECT count(*) FROM bad_{name})"
    ).fetchall()[0][0]
    total = counted["accepted"] + counted["rejected"] + counted["duplicates_dropped"]
    from_files = sum(e.rows_read for e in entries) if not source.adapter else classified
    if not (from_files == classified == total):
        raise InputError(
            f"{name}: rows do not reconcile: {from_files} read from files, "
            f"{classified} classified, "
            f"{counted['accepted']} accepted + {counted['rejected']} rejected + "
            f"{counted['duplicates_dropped']} duplicates = {total}; nothing was written"
        )


def run_ingest(cfg: dict, catalog: Catalog) -> str:
    """Ingest the configured source into <data>/interim/; fail (writing nothing) over threshold."""
    result = ingest(cfg, catalog, write_outputs=True)
    if result.over_threshold:
        raise InputError(
            "reject rate over ingest.max_reject_rate "
            f"({result.max_reject_rate:.2%}); nothing was written.\n" + write.report(result)
        )
    return write.summary(result)


def run_validate(cfg: dict, catalog: Catalog) -> str:
    """Check the exports against the source config and report; writes nothing."""
    result = ingest(cfg, catalog, write_outputs=False)
    text = write.report(result)
    if result.over_threshold:
        raise InputError("validation failed: reject rate over ingest.max_reject_rate\n" + text)
    return text
