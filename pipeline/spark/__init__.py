"""engine: spark -- the transaction-sized work on Apache Spark, through PySpark.

With `engine: spark` the features and score stages compute on a `SparkEngine`
(pipeline.spark.engine) instead of DuckDB: the canonical tables are Spark views over the
interim Parquet and the same SQL runs as Spark SQL; the per-customer results come back
to the driver for the population-wide steps (RFM quantiles, tiers, KPIs, model fits),
and CLV predictions are applied per partition (Engine.map_batches). Ingest stays on
DuckDB. Needs `pip install '.[spark]'` and Java 17+.
"""

from __future__ import annotations

from typing import Any

from pipeline.spark.engine import SparkEngine, connect_spark, interim_location
from pipeline.spark.session import spark_session

__all__ = ["SparkEngine", "connect", "connect_spark", "spark_session"]


def connect(cfg: dict[str, Any], interim_dir: str) -> SparkEngine:
    """A Spark engine over the interim tables (spark.interim_uri, else `interim_dir`)."""
    return connect_spark(spark_session(cfg), interim_location(cfg, interim_dir))
