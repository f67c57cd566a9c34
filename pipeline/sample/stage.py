"""The sample bank (`crm sample`): realistic, seeded raw exports and their ground truth.

`run_sample` is the only I/O: it draws the bank chunk by chunk (bounded memory at a
million customers), appends each chunk's rows to the monthly CSV files in a staging
folder, and puts the folders in place only when everything is written. The ground
truth (customers_truth.parquet, monthly_profit.parquet, contact_effect.parquet,
dirt.json) follows, and params.json comes last: it is
the stamp that the sample is complete.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline.catalog import Catalog
from pipeline.config import read_yaml, source_config_path, survey_definition_path
from pipeline.io import promote_on_success, write_json
from pipeline.sample import exports
from pipeline.sample import writer as w
from pipeline.sample.core import RUN_LEVEL, Setup, generate_chunk, make_setup, stream
from pipeline.sample.dirt import DIRT_KINDS, inject, no_dirt
from pipeline.sample.params import STAFF_ROLES, params_document
from pipeline.sample.surveys import (
    CUSTOMER_DIMENSIONS,
    STAFF_DIMENSIONS,
    item_columns,
    staff_responses,
    staff_roster,
    survey_truth,
)

__all__ = ["run_sample"]
TABLE_FILES = {
    "customers": "customers.csv",
    "rm_contacts": "rm_contacts.csv",
    "survey_customer": "survey_customer.csv",
    "survey_staff": "survey_staff.csv",
}
TABLE_NO = {name: i for i, name in enumerate(DIRT_KINDS)}


def survey_definitions() -> tuple[dict[str, Any], dict[str, Any]]:
    """The customer and staff survey definitions the sample source config names."""
    source = read_yaml(source_config_path("sample"))["tables"]
    return tuple(
        read_yaml(survey_definition_path(source[table]["survey"]))
        for table in ("survey_responses", "staff_survey_responses")
    )


class Exporter:
    """Appends dirtied pieces to the staging files and keeps the ledger of dirt."""

    def __init__(self, setup: Setup, rate: float, root: Path):
        self.setup, self.rate, self.root = setup, rate, root
        self.tables: dict[str, dict[str, Any]] = {
            t: {"rows_clean": 0, "rows_written": 0, "kinds": no_dirt(t), "files": []}
            for t in DIRT_KINDS
        }
        self.files: dict[str, dict[str, int]] = {}

    def start(self, table: str, relative: str, columns: tuple[str, ...] | list[str]) -> None:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(w.header(columns))
        self.tables[table]["files"].append(relative)
        self.files[relative] = no_dirt(table)

    def piece(
        self, table: str, relative: str, columns: dict[str, pa.Array], rng: np.random.Generator
    ) -> None:
        clean = len(next(iter(columns.values())))
        unknown = exports.unknown_ids(self.setup, rng)
        dirty, counts = inject(rng, table, columns, self.rate, unknown)
        ledger = self.tables[table]
        ledger["rows_clean"] += clean
        ledger["rows_written"] += len(next(iter(dirty.values())))
        for kind, count in counts.items():
            ledger["kinds"][kind] += count
            self.files[relative][kind] += count
        w.append(self.root / relative, w.csv_lines(dirty))

    def document(self) -> dict[str, Any]:
        tables = {t: {**v, "dirty_rows": sum(v["kinds"].values())} for t, v in self.tables.items()}
        return {"rate": self.rate, "tables": tables, "files": self.files}


def _write_bank(
    setup: Setup, rate: float, value: dict[str, Any], raw: Path, truth: Path
) -> dict[str, Any]:
    seed, window = setup.seed, setup.window
    out = Exporter(setup, rate, raw)
    txn_files = [f"transactions/transactions_{m}.csv" for m in window.month_labels]
    bal_files = [f"balances/balances_{m}.csv" for m in window.month_labels]
    out.start("customers", TABLE_FILES["customers"], exports.CUSTOMER_COLUMNS)
    for txn, bal in zip(txn_files, bal_files, strict=True):
        out.start("transactions", txn, exports.TRANSACTION_COLUMNS)
        out.start("balances", bal, exports.BALANCE_COLUMNS)
    out.start("rm_contacts", TABLE_FILES["rm_contacts"], exports.CONTACT_COLUMNS)

    next_txn = np.ones(window.months, dtype=np.int64)
    surveyed: list[dict[str, np.ndarray]] = []
    writers: dict[str, pq.ParquetWriter] = {}

    def write_truth(name: str, table: pa.Table) -> None:
        if name not in writers:
            writers[name] = pq.ParquetWriter(truth / name, table.schema, compression="zstd")
        writers[name].write_table(table)

    try:
        for index in range(setup.n_chunks):
            chunk = generate_chunk(setup, index)

            def rng(table: str, month: int = 0, index: int = index) -> np.random.Generator:
                return stream(seed, index, "dirt", TABLE_NO[table], month)

            out.piece(
                "customers",
                "customers.csv",
                exports.customers(setup, chunk, index),
                rng("customers"),
            )
            bounds = np.searchsorted(chunk.transactions["month"], np.arange(window.months + 1))
            for m in range(window.months):
                rows = np.arange(bounds[m], bounds[m + 1])
                cols = exports.transactions(setup, chunk, rows, m, int(next_txn[m]))
                next_txn[m] += len(rows)
                out.piece("transactions", txn_files[m], cols, rng("transactions", m))
                out.piece(
                    "balances", bal_files[m], exports.balances(setup, chunk, m), rng("balances", m)
                )
            out.piece(
                "rm_contacts", "rm_contacts.csv", exports.contacts(setup, chunk), rng("rm_contacts")
            )
            write_truth("customers_truth.parquet", exports.truth(setup, chunk))
            write_truth("monthly_profit.parquet", exports.monthly_profit(setup, chunk, value))
            write_truth("contact_effect.parquet", exports.contact_effect(setup, chunk))
            s = chunk.survey
            surveyed.append(
                {
                    **{k: v for k, v in s.items() if k != "customer"},
                    "number": chunk.first_number + s["customer"],
                    "branch": chunk.customers["branch"][s["customer"]],
                }
            )
            del chunk
    finally:
        for writer in writers.values():
            writer.close()

    _write_customer_survey(setup, out, surveyed)
    _write_staff_survey(setup, out)
    document = out.document()
    write_json(document, truth / "dirt.json")
    return document


def _write_customer_survey(
    setup: Setup, out: Exporter, surveyed: list[dict[str, np.ndarray]]
) -> None:
    definition = setup.customer_survey
    s = {k: np.concatenate([part[k] for part in surveyed]) for k in surveyed[0]}
    order = np.lexsort((s["number"], s["day"]))
    s = {k: v[order] for k, v in s.items()}
    ids = exports.customer_ids(setup, s["number"])
    fixed = {
        "response_id": w.ids("R", np.arange(1, len(order) + 1), 8),
        "branch_id": exports.branch_ids(setup, s["branch"]),
        "response_date": w.dates(s["day"]),
        "customer_id": pc.if_else(pa.array(s["anonymous"]), pa.scalar(""), ids),
    }
    columns = item_columns(definition)
    out.start("survey_customer", TABLE_FILES["survey_customer"], [*fixed, *columns])
    cols = {**fixed, **{c: w.integers(s[c]) for c in columns}}
    out.piece(
        "survey_customer",
        TABLE_FILES["survey_customer"],
        cols,
        stream(setup.seed, RUN_LEVEL, "dirt", TABLE_NO["survey_customer"]),
    )


def _write_staff_survey(setup: Setup, out: Exporter) -> None:
    definition = setup.staff_survey
    roster = staff_roster(setup.branches, setup.rm_counts, setup.n_customers)
    s = staff_responses(
        stream(setup.seed, RUN_LEVEL, "staff"), definition, roster, setup.branches, setup.window
    )
    fixed = {
        "response_id": w.ids("S", np.arange(1, len(s["day"]) + 1), 8),
        "branch_id": exports.branch_ids(setup, s["branch"]),
        "response_date": w.dates(s["day"]),
        "role": w.labels(s["role"], STAFF_ROLES),
    }
    columns = item_columns(definition)
    out.start("survey_staff", TABLE_FILES["survey_staff"], [*fixed, *columns])
    cols = {**fixed, **{c: w.integers(s[c]) for c in columns}}
    out.piece(
        "survey_staff",
        TABLE_FILES["survey_staff"],
        cols,
        stream(setup.seed, RUN_LEVEL, "dirt", TABLE_NO["survey_staff"]),
    )


def run_sample(cfg: dict[str, Any], catalog: Catalog) -> str:
    """Generate the sample bank's raw exports and ground truth; return a short summary."""
    started = time.perf_counter()
    sample_cfg = cfg["sample"]
    customer_survey, staff_survey = survey_definitions()
    setup = make_setup(sample_cfg, cfg["tiers"], customer_survey, staff_survey)
    raw_target, truth_target = catalog.raw_dir("sample"), catalog.ground_truth_dir()
    stamp = truth_target / "params.json"
    stamp.unlink(missing_ok=True)  # the old sample is no longer known to be complete
    raw, truth = w.fresh_staging(raw_target), w.fresh_staging(truth_target)
    try:
        # Written into staging folders swapped in below, so writes there go straight through.
        with promote_on_success(False):
            dirt = _write_bank(setup, float(sample_cfg["dirt_rate"]), cfg["value"], raw, truth)
    except BaseException:
        shutil.rmtree(raw, ignore_errors=True)
        shutil.rmtree(truth, ignore_errors=True)
        raise
    w.promote(raw, raw_target)
    w.promote(truth, truth_target)
    params = params_document(sample_cfg, setup.window, setup.branches)
    params["rm_per_branch"] = {
        b.branch_id: int(n) for b, n in zip(setup.branches, setup.rm_counts, strict=True)
    }
    params["surveys"] = {
        "customer": survey_truth(customer_survey, CUSTOMER_DIMENSIONS),
        "staff": survey_truth(staff_survey, STAFF_DIMENSIONS),
    }
    write_json(params, stamp)
    return _summary(setup, dirt, raw_target, truth_target, time.perf_counter() - started)


def _summary(setup: Setup, dirt: dict[str, Any], raw: Path, truth: Path, seconds: float) -> str:
    window = setup.window
    lines = [
        f"sample bank: {setup.n_customers:,} customers, {len(setup.branches)} "
        f"branch{'es' if len(setup.branches) > 1 else ''}, "
        f"{window.months} months ({window.month_labels[0]}..{window.end_month}) in {seconds:.1f}s",
        f"  raw exports: {raw}",
    ]
    for table, t in dirt["tables"].items():
        files = len(t["files"])
        plural = "s" if files > 1 else ""
        lines.append(
            f"    {table:<16} {t['rows_written']:>12,} rows in {files} file{plural}"
            f" ({t['dirty_rows']:,} dirty)"
        )
    lines.append(
        f"  ground truth: {truth} (customers_truth.parquet, monthly_profit.parquet, "
        "contact_effect.parquet, dirt.json, params.json)"
    )
    return "\n".join(lines)
