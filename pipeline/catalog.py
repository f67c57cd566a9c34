"""Where every dataset lives: all paths derive from the data root and the report root.

Only this module and the CLI know the layout; stages receive paths from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from pipeline.errors import InputError
from pipeline.periods import parse_period, resolve_period


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

    def watchlist(self, period: str, branch_id: str) -> Path:
        return self.processed_dir(period) / f"watchlist-{branch_id}.csv"

    def rm_books(self, period: str) -> Path:
        """One row per relationship manager: book, value held and at risk, contacts."""
        return self.processed_dir(period) / "rm_books.parquet"

    def call_list(self, period: str, branch_id: str, rm_id: str) -> Path:
        """An RM's call list for the month, beside the branch's watchlist."""
        return self.processed_dir(period) / f"calls-{branch_id}-{rm_id}.csv"

    def unassigned_list(self, period: str, branch_id: str) -> Path:
        """A branch's customers of RM-managed tiers who have no RM."""
        return self.processed_dir(period) / f"unassigned-{branch_id}.csv"

    def workbook(self, period: str, name: str) -> Path:
        """`<name>.xlsx`: an Excel copy of a watchlist or a branch-level mart, for analysts."""
        return self.processed_dir(period) / f"{name}.xlsx"

    def survey_output(self, period: str, name: str) -> Path:
        """`survey_<name>.parquet` under the period's processed folder."""
        return self.processed_dir(period) / f"survey_{name}.parquet"

    def survey_summary(self, period: str) -> Path:
        return self.processed_dir(period) / "survey_summary.json"

    def stamp(self, stage: str) -> Path:
        """What the stage read last time its inputs changed (pipeline.stamps; for make)."""
        return self.data_dir / "stamps" / f"{stage}.json"

    def run_manifest(self, period: str) -> Path:
        """The latest run's record (timings vary run to run, so not under processed/)."""
        parse_period(period)
        return self.data_dir / "runs" / period / "run_manifest.json"

    # reports
    def report_build_dir(self, period: str) -> Path:
        parse_period(period)
        return self.report_dir / "build" / period

    def branch_report(self, period: str, branch_id: str, ext: str) -> Path:
        return self.report_build_dir(period) / f"branch-{branch_id}.{ext}"

    def network_report(self, period: str, ext: str) -> Path:
        return self.report_build_dir(period) / f"network.{ext}"

    def report_index(self, period: str) -> Path:
        return self.report_build_dir(period) / "index.html"

    # what the data holds
    def last_transaction_day(self) -> date | None:
        """The last day with an ingested transaction (None: the table holds none)."""
        txns = self.interim_table("transactions")
        if not txns.is_file():
            raise InputError(
                f"no period given and no ingested transactions at {txns}: "
                "pass --period YYYY-MM or run `crm ingest` first"
            )
        import duckdb

        with duckdb.connect() as con:
            sql = "SELECT max(txn_time)::DATE FROM read_parquet(?)"
            return con.execute(sql, [str(txns)]).fetchone()[0]

    def period(self, explicit: str | None, configured: str | None) -> str:
        """The period to run: --period, else the config's, else the latest complete
        month of the ingested transactions (pipeline.periods.resolve_period)."""
        return resolve_period(explicit, configured, self.last_transaction_day)
