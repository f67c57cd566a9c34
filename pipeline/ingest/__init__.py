"""Ingest: a bank's exports -> validated canonical tables, with every row accounted for.

stage.py is the `crm ingest` / `crm validate` edge (it writes <data>/interim/<table>.parquet,
interim/rejects/<table>.parquet and interim/manifest.json); core.py classifies and
reconciles the staged rows; staging.py reads the exports into typed parts.
"""

from pipeline.ingest.core import IngestResult

__all__ = ["IngestResult"]
