"""Where every dataset lives: all paths derive from the data root and the report root.

Only this module and the CLI know the layout; stages receive paths from here. A path
built from data (a branch or RM id in a file name) is checked before it is handed out:
the id must be a plain name (no separator, `..`, control character, not too long --
ingest rejects such ids already, bounds.py) and the path must lie inside its root once
`..` is resolved, so no id can make a stage write outside its folder.
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from pipeline.errors import ConfigError, InputError
from pipeline.locales import LOCALE_NAME
from pipeline.names import MAX_NAME_BYTES, unsafe_name
from pipeline.periods import parse_period, resolve_period

__all__ = ["BRANCH_LISTS", "MAX_NAME_BYTES", "Catalog", "inside", "unsafe_name"]

# The per-branch and per-RM files of the score stage (watchlist, call_list,
# unassigned_list and their Excel copies, workbook): what a run that no longer writes one
# removes.
BRANCH_LISTS = (
    "watchlist-*.csv",
    "watchlist-*.xlsx",
    "calls-*.csv",
    "calls-*.xlsx",
    "unassigned-*.csv",
)


def inside(root: Path, path: Path) -> Path:
    """`path`, refused unless it lies inside `root` with `..` resolved (lexically: a
    symlink the bank placed under its root is its own choice and is followed)."""
    top = os.path.abspath(root)
    full = os.path.abspath(path)
    if os.path.commonpath([top, full]) != top or full == top:
        raise InputError(f"{path}: refused, it is not inside {root}")
    return path


@functools.lru_cache(maxsize=4)
def _first_and_last_day(path: str, mtime_ns: int, size: int) -> tuple[date | None, date | None]:
    """min and max txn_time of a transactions table, per version (its time and size)."""
    import duckdb

    with duckdb.connect() as con:
        sql = "SELECT min(txn_time)::DATE, max(txn_time)::DATE FROM read_parquet(?)"
        return tuple(con.execute(sql, [path]).fetchone())


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
    def label_window_dir(self) -> Path:
        """Label windows the score stage keeps between months on the same canonical
        tables (pipeline.scoring.window_store)."""
        return self.interim_dir / "label_windows"

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

    def branch_history(self, period: str) -> Path:
        """Branch KPIs and attrition for the months up to the period (the trends)."""
        return self.processed_dir(period) / "branch_history.parquet"

    def tier_migration(self, period: str) -> Path:
        return self.processed_dir(period) / "tier_migration.parquet"

    def lorenz(self, period: str) -> Path:
        """Lorenz curve points of AUM per branch and network-wide, for the report."""
        return self.processed_dir(period) / "lorenz.parquet"

    def model_card(self, period: str) -> Path:
        return self.processed_dir(period) / "model_card.json"

    def _named(
        self, root: Path, folder: Path, prefix: str, ids: dict[str, str], suffix: str
    ) -> Path:
        """folder/<prefix><ids joined by '-'><suffix>, refused when an id (`ids`: what
        each is, e.g. "branch id", and its value) or their name could leave the folder."""
        name = "-".join(ids.values())
        for kind, ident in [*ids.items(), *([("name", name)] if len(ids) > 1 else [])]:
            why = unsafe_name(ident)
            if why is not None:
                raise InputError(
                    f"{kind} {ident!r} cannot name a file ({why}); ingest rejects such ids "
                    "as unsafe_identifier: run `crm ingest` again"
                )
        path = inside(root, folder / f"{prefix}{name}{suffix}")
        if os.path.dirname(os.path.abspath(path)) != os.path.abspath(folder):
            raise InputError(f"{path}: refused, it is not directly in {folder}")
        return path

    def _branch_csv(self, period: str, prefix: str, ids: dict[str, str]) -> Path:
        return self._named(self.data_dir, self.processed_dir(period), prefix, ids, ".csv")

    def watchlist(self, period: str, branch_id: str) -> Path:
        return self._branch_csv(period, "watchlist-", {"branch id": branch_id})

    def rm_books(self, period: str) -> Path:
        """One row per relationship manager: book, value held and at risk, contacts."""
        return self.processed_dir(period) / "rm_books.parquet"

    def call_list(self, period: str, branch_id: str, rm_id: str) -> Path:
        """An RM's call list for the month, beside the branch's watchlist."""
        return self._branch_csv(period, "calls-", {"branch id": branch_id, "rm id": rm_id})

    def unassigned_list(self, period: str, branch_id: str) -> Path:
        """A branch's customers of RM-managed tiers who have no RM."""
        return self._branch_csv(period, "unassigned-", {"branch id": branch_id})

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
        """The period's reports: one folder per locale under it."""
        parse_period(period)
        return self.report_dir / "build" / period

    def report_locale_dir(self, period: str, locale: str) -> Path:
        """The period's reports in one locale (en, zh_CN): side by side, never mixed."""
        if not LOCALE_NAME.match(locale):
            raise ConfigError(f"locale: expected a name such as en or zh_CN, got {locale!r}")
        return self.report_build_dir(period) / locale

    def branch_report(self, period: str, branch_id: str, ext: str, locale: str) -> Path:
        return self._named(
            self.report_dir,
            self.report_locale_dir(period, locale),
            "branch-",
            {"branch id": branch_id},
            f".{ext}",
        )

    def network_report(self, period: str, ext: str, locale: str) -> Path:
        return self.report_locale_dir(period, locale) / f"network.{ext}"

    def report_index(self, period: str, locale: str) -> Path:
        return self.report_locale_dir(period, locale) / "index.html"

    def report_download(self, period: str, locale: str, name: str) -> Path:
        """A list a report links to for download (CSV, XLSX), in the report's locale."""
        return self.report_locale_dir(period, locale) / "downloads" / name

    def report_languages(self, period: str) -> Path:
        """The period's page linking to its reports in each locale written."""
        return self.report_build_dir(period) / "index.html"

    # what the data holds
    def transaction_days(self) -> tuple[date | None, date | None]:
        """The first and the last day with an ingested transaction (None: none). A stage
        asks twice (its period's check, then its own work): the scan is made once per
        version of the table."""
        txns = self.interim_table("transactions")
        if not txns.is_file():
            raise InputError(f"no ingested transactions at {txns}: run `crm ingest` first")
        stat = txns.stat()
        return _first_and_last_day(str(txns), stat.st_mtime_ns, stat.st_size)

    def _ingest_manifest(self) -> dict[str, Any]:
        """The last ingest's manifest ({}: nothing ingested)."""
        if not self.ingest_manifest.is_file():
            return {}
        return json.loads(self.ingest_manifest.read_text(encoding="utf-8"))

    def ingested_source(self) -> str | None:
        """The name of the source config the last ingest read (None: nothing ingested)."""
        return self._ingest_manifest().get("source")

    def declared_as_of(self) -> date | None:
        """The as-of the source config declares for its exports, as the last ingest used
        it (None: ingest derived it from the data or a period, or nothing is ingested)."""
        manifest = self._ingest_manifest()
        return date.fromisoformat(manifest["as_of"]) if manifest.get("as_of_declared") else None

    def data_span(self) -> tuple[date | None, date | None, date | None]:
        """What decides which periods the data covers (periods.check_inside_data): the
        first and last days with an ingested transaction and the declared as-of."""
        return (*self.transaction_days(), self.declared_as_of())

    def data_end(self) -> tuple[date | None, date | None]:
        """The last day with an ingested transaction (None: the table holds none) and the
        declared as-of (periods.resolve_period)."""
        txns = self.interim_table("transactions")
        if not txns.is_file():
            raise InputError(
                f"no period given and no ingested transactions at {txns}: "
                "pass --period YYYY-MM or run `crm ingest` first"
            )
        return self.transaction_days()[1], self.declared_as_of()

    def period(self, explicit: str | None, configured: str | None) -> str:
        """The period to run: --period, else the config's, else the latest complete
        month of the ingested transactions (pipeline.periods.resolve_period)."""
        return resolve_period(explicit, configured, self.data_end)
