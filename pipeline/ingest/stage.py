"""`crm ingest` and `crm validate`: the I/O edge of the ingest stage.

One DuckDB connection (threads 2, `ingest.memory_limit`, spilling to a temporary folder
under <data>/interim) does all the work: stage every table (staging.py), then the core
(core.py) fixes the as-of date, classifies the rows while the accepted ones are written
to the temporary folder in one sorted pass, and reconciles read = accepted + rejected +
duplicates; only then -- when every table reconciles and stays under the reject-rate threshold
-- move the canonical tables into place, write the rejects and, last, the manifest.
Validation runs the same steps and writes nothing. A run whose inputs (every file's
hash), source config, settings and code are those of the last successful run, with its
outputs in place, is skipped and writes nothing, its manifest included (skip.py).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from datetime import date
from pathlib import Path

import duckdb

from pipeline.catalog import Catalog
from pipeline.errors import ConfigError, InputError
from pipeline.ingest import skip, write
from pipeline.ingest.bounds import Limits, with_limits
from pipeline.ingest.core import IngestResult, classify_tables, resolve_as_of
from pipeline.ingest.parts import FileEntry, PartStore
from pipeline.ingest.quality import ingest_findings, manifest_findings
from pipeline.ingest.source import SourceConfig, load_source
from pipeline.ingest.staging import Stager
from pipeline.io import promote_on_success
from pipeline.privacy import id_salt

log = logging.getLogger(__name__)


def ingest(cfg: dict, catalog: Catalog, write_outputs: bool) -> IngestResult:
    """Run ingest; with `write_outputs` False nothing under <data> changes (validate)."""
    source = load_source(cfg["source"], mask_pii=cfg["privacy"]["mask_pii"])
    source = with_limits(source, Limits.from_config(cfg))
    raw = source.raw_path(catalog.data_dir / "raw")
    if not raw.is_dir():
        raise InputError(f"{raw}: no export folder for source {source.name!r} ({source.path})")
    store = PartStore(catalog.ingest_parts_dir, catalog.ingest_parts_dir)
    if write_outputs:
        if catalog.interim_dir.is_dir():
            remove_stale_work(catalog.interim_dir)
        unchanged = skip.unchanged_run(cfg, source, raw, catalog, store)
        if unchanged is not None:
            # Nothing is written, the manifest neither: what was ingested has not changed,
            # so neither has anything that depends on it (make's targets, for one).
            return _from_manifest(unchanged, source, raw, cfg)
        # spill and staging beside the outputs, so the final moves are renames
        catalog.interim_dir.mkdir(parents=True, exist_ok=True)
    spill_root = catalog.interim_dir if write_outputs else None
    with tempfile.TemporaryDirectory(prefix=WORK_PREFIX, dir=spill_root) as tmp:
        work = Path(tmp)
        store.staging_dir = work / "staging"
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
            stager = Stager(con, source, raw, store, work)
            stager.stage_all()
            as_of, basis = resolve_as_of(cfg.get("period"), source, con)
            salt = id_salt(cfg) if write_outputs else None
            staged: dict[str, Path] = {}

            def open_output(name, spec):
                if not write_outputs:
                    return None
                staged[name] = work / "out" / f"{name}.parquet"
                return write.open_table(spec, staged[name])

            tables, samples = classify_tables(
                con, source, stager.entries, stager.explicit_lines, as_of, salt, open_output
            )
            result = IngestResult(
                source,
                raw,
                as_of,
                basis,
                cfg["ingest"]["max_reject_rate"],
                tables,
                stager.entries,
                samples,
                ingest_findings(con, source, stager.entries, as_of),
            )
            if write_outputs and not result.over_threshold:
                with promote_on_success():  # all outputs, or none of them
                    written = write.write_outputs(con, result, catalog, staged)
                    store.commit(skip.last_run(cfg, source, stager.entries, written))
                    write.write_manifest(result, catalog)
            return result
        finally:
            con.close()


WORK_PREFIX = ".ingest-"  # the run's spill and staging folder under interim/


def remove_stale_work(interim: Path) -> list[Path]:
    """Delete the work folders of ingest runs that were killed (a finished or failed run
    removes its own). Only safe with no other ingest on this data root: the CLI holds
    the data-root lock."""
    stale = sorted(p for p in interim.glob(WORK_PREFIX + "*") if p.is_dir())
    for folder in stale:
        shutil.rmtree(folder, ignore_errors=True)
    return stale


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
        findings=manifest_findings(manifest),
    )


def run_ingest(cfg: dict, catalog: Catalog) -> str:
    """Ingest the configured source into <data>/interim/; fail (writing nothing) over threshold."""
    result = ingest(cfg, catalog, write_outputs=True)
    if result.over_threshold:
        raise InputError(
            "reject rate over ingest.max_reject_rate "
            f"({result.max_reject_rate:.2%}); nothing was written.\n" + write.report(result)
        )
    for warning in result.warnings:  # what a person must read: once, as a warning
        log.warning("%s", warning)
    return write.summary(result)


def run_validate(cfg: dict, catalog: Catalog) -> str:
    """Check the exports against the source config and report; writes nothing."""
    result = ingest(cfg, catalog, write_outputs=False)
    text = write.report(result)
    if result.over_threshold:
        raise InputError("validation failed: reject rate over ingest.max_reject_rate\n" + text)
    return text
