"""Ingest: a bank's exports -> validated canonical tables, with every row accounted for.

`run_ingest` writes <data>/interim/<table>.parquet, interim/rejects/<table>.parquet and
interim/manifest.json; `run_validate` runs the same checks and only reports.
"""

from pipeline.ingest.run import ingest, run_ingest, run_validate

__all__ = ["ingest", "run_ingest", "run_validate"]
