"""engine: spark — the transaction-sized work on Apache Spark, through PySpark.

With `engine: spark` the features and score stages open a `SparkConnection`
(pipeline.spark.connection) instead of a DuckDB one: the canonical tables are Spark
views over the interim Parquet, and the same SQL the DuckDB engine runs (the features
mart's transaction and balance passes, the BTYD summaries, churn labels) runs as Spark
SQL, with pipeline.dialect spelling the few fragments the dialects disagree on. The
per-customer results (one row per customer) come back to the driver for the population-
wide steps (RFM quantiles, tiers, KPIs, model fits); CLV predictions are applied per
partition with the fitted parameters (pipeline.spark.predict). Ingest (parsing and
validating the exports) stays on DuckDB. Needs `pip install '.[spark]'` and Java 17+.
"""

from __future__ import annotations

from typing import Any

from pipeline.catalog import Catalog
from pipeline.spark.connection import SparkConnection, connect_spark, interim_location
from pipeline.spark.session import spark_session

__all__ = ["SparkConnection", "connect", "connect_spark", "spark_session"]


def connect(cfg: dict[str, Any], catalog: Catalog) -> SparkConnection:
    """A Spark connection over the interim tables (spark.interim_uri, else the data dir's)."""
    spark = spark_session(cfg)
    return connect_spark(spark, interim_location(cfg, str(catalog.interim_dir)))
