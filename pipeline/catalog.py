"""Where every dataset lives: all paths derive from the data root and the report root.

Only this module and the CLI know the layout; stages receive paths from here. A path
built from data (a branch id in a file name) is checked before it is handed out: the id
must be a plain name (no separator, `..`, control character, not too long -- ingest
rejects such ids already, bounds.py) and the path must lie inside its root once `..`
is resolved, so no id can make a stage write outside its folder.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from pipeline.errors import InputError
from pipeline.periods import parse_period, resolve_period

MAX_NAME_BYTES = 200  # as ingest's bound (bounds.py): a file name stays under 255 bytes
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def unsafe_name(text: str) -> str | None:
    """Why `text` cannot be part of a file name (None: it can)."""
    if not isinstance(text, str) or not text:
        return "it is empty"
    if "/" in text or "\\" in text:
        return "it holds a path separator"
    if ".." in text or text == ".":
        return "it holds '..'"
    if _CONTROL.search(text):
        return "it holds a control character"
    if len(text.encode("utf-8")) > MAX_NAME_BYTES:
        return f"it is longer than {MAX_NAME_BYTES} bytes"
    return None


def inside(root: Path, path: Path) -> Path:
    """`path`, refused unless it lies inside `root` with `..` resolved (lexically: a
    symlink the bank placed under its root is its own choice and is followed)."""
    top = os.path.abspath(root)
    full = os.path.abspath(path)
    if os.path.commonpath([top, full]) != top or full == top:
        raise InputError(f"{path}: refused, it is not inside {root}")
    return path


@dataclass(frozen=True)
class Catalog:
    data_dir: Path
    report_dir: Path

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> Catalog:
        return cls(Path(cfg["paths"]["data_dir"]), Path(cfg["paths"]["report_dir"]))

    # raw exports, never edited
    def raw_dir(self, source: str) -> Path:
        return self.data_dir / "raw" / source

    def ground_truth_dir(self) -> Path:
        """The sample bank's true process, for tests; not an export, never ingested."""
        return self.data_dir / "raw" / "sample_ground_truth"

    # canonical tables
    @property
    def interim_dir(self) -> Path:
        return self.data_dir / "interim"

    def interim_table(self, table: str) -> Path:
        return self.interim_dir / f"{table}.parquet"

    @property
    def rejects_dir(self) -> Path:
        return self.interim_dir / "rejects"

    @property
    def ingest_manifest(self) -> Path:
        return self.interim_dir / "manifest.json"

    @property
    def ingest_parts_dir(self) -> Path:
        """Ingest's per-file typed parts and their state: what makes re-runs incremental."""
        return self.interim_dir / "parts"

    # per period
    def processed_dir(self, period: str) -> Path:
        parse_period(period)
        return self.data_dir / "processed" / period

    def customer_features(self, period: str) -> Path:
        return self.processed_dir(period) / "customer_features.parquet"

    def customer_scores(self, period: str) -> Path:
        return self.processed_dir(period) / "customer_scores.parquet"

    def branch_scores(self, period: str) -> Path:
        """Churn and value figures per branch and network-wide (the score stage's)."""
        return self.processed_dir(period) / "branch_scores.parquet"

    def branch_kpis(self, period: str) -> Path:
        return self.processed_dir(period) / "branch_kpis.parquet"

    def tier_migration(self, period: str) -> Path:
        return self.processed_dir(period) / "tier_migration.parquet"

    def lorenz(self, period: str) -> Path:
        """Lorenz curve points of AUM per branch and network-wide, for the report."""
        return self.processed_dir(period) / "lorenz.parquet"

    def model_card(self, period: str) -> Path:
        return self.processed_dir(period) / "model_card.json"

    def _named(self, root: Path, folder: Path, prefix: str, ident: str, suffix: str) -> Path:
        """folder/<prefix><ident><suffix>, refused when the id could leave the folder."""
        why = unsafe_name(ident)
        if why is not None:
            raise InputError(
                f"branch id {ident!r} cannot name a file ({why}); ingest rejects such ids "
                "as unsafe_identifier: run `crm ingest` again"
            )
        path = inside(root, folder / f"{prefix}{ident}{suffix}")
        if os.path.dirname(os.path.abspath(path)) != os.path.abspath(folder):
            raise InputError(f"{path}: refused, it is not directly in {folder}")
        return path

    def watchlist(self, period: str, branch_id: str) -> Path:
        return self._named(
            self.data_dir, self.processed_dir(period), "watchlist-", branch_id, ".csv"
        )

    def survey_output(self, period: str, name: str) -> Path:
        """`survey_<name>.parquet` under the period's processed folder."""
        return self.processed_dir(period) / f"survey_{name}.parquet"

    def survey_summary(self, period: str) -> Path:
        return self.processed_dir(period) / "survey_summary.json"

    def run_manifest(self, period: str) -> Path:
        """The latest run's record (timings vary run to run, so not under processed/)."""
        parse_period(period)
        return self.data_dir / "runs" / period / "run_manifest.json"

    # reports
    def report_build_dir(self, period: str) -> Path:
        parse_period(period)
        return self.report_dir / "build" / period

    def branch_report(self, period: str, branch_id: str, ext: str) -> Path:
        return self._named(
            self.report_dir, self.report_build_dir(period), "branch-", branch_id, f".{ext}"
        )

    def network_report(self, period: str, ext: str) -> Path:
        return self.report_build_dir(period) / f"network.{ext}"

    def report_index(self, period: str) -> Path:
        return self.report_build_dir(period) / "index.html"

    # what the data holds
    def transaction_days(self) -> tuple[date | None, date | None]:
        """The first and the last day with an ingested transaction (None: none)."""
        txns = self.interim_table("transactions")
        if not txns.is_file():
            raise InputError(f"no ingested transactions at {txns}: run `crm ingest` first")
        import duckdb

        with duckdb.connect() as con:
            sql = "SELECT min(txn_time)::DATE, max(txn_time)::DATE FROM read_parquet(?)"
            return tuple(con.execute(sql, [str(txns)]).fetchone())

    def last_transaction_day(self) -> date | None:
        """The last day with an ingested transaction (None: the table holds none)."""
        txns = self.interim_table("transactions")
        if not txns.is_file():
            raise InputError(
                f"no period given and no ingested transactions at {txns}: "
                "pass --period YYYY-MM or run `crm ingest` first"
            )
        return self.transaction_days()[1]

    def period(self, explicit: str | None, configured: str | None) -> str:
        """The period to run: --period, else the config's, else the latest complete
        month of the ingested transactions (pipeline.periods.resolve_period)."""
        return resolve_period(explicit, configured, self.last_transaction_day)
