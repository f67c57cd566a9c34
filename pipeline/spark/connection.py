"""A Spark SQL connection with the small DuckDB-like surface the stages' SQL helpers use.

The features SQL (pipeline.features.sources / customer) and the BTYD summary
(pipeline.scoring.summary), the churn labels and the stage notes call
`con.execute(sql, params).fetchall() / .fetchone() / .df()`, `con.sql(sql).to_arrow_table()`,
`con.register(name, frame)` / `unregister(name)` and `close()` on a connection whose views
are named after the canonical tables. `SparkConnection` offers exactly that over a
SparkSession with one temporary view per interim Parquet table, and says its dialect
(pipeline.dialect.SPARK) so the few engine-specific fragments are spelled for Spark.
Queries run on the executors; only their results (one row per customer at most) are
collected to the driver, as Arrow.

It also carries `predict_clv`: the CLV stage asks the connection for its predictor, and
Spark's applies the fitted model per partition (pipeline.spark.predict).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
import pyarrow as pa

from pipeline.dialect import SPARK
from pipeline.errors import InputError
from pipeline.schema import REQUIRED_TABLES, TABLES


class SparkResult:
    """The result of one query; nothing runs until it is fetched."""

    def __init__(self, frame) -> None:
        self.frame = frame

    def fetchall(self) -> list[tuple]:
        return [tuple(row) for row in self.frame.collect()]

    def fetchone(self) -> tuple | None:
        rows = self.frame.take(1)
        return tuple(rows[0]) if rows else None

    def to_arrow_table(self) -> pa.Table:
        return self.frame.toArrow()

    def df(self) -> pd.DataFrame:
        return self.to_arrow_table().to_pandas(date_as_object=True)


class SparkConnection:
    """Canonical tables as Spark temporary views, queried with DuckDB-style calls."""

    dialect = SPARK

    def __init__(self, spark, views: Sequence[str] = ()) -> None:
        self.spark = spark
        self._views = list(views)

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> SparkResult:
        """Run SQL with positional `?` parameters (Spark 3.5+ binds them as literals)."""
        args = list(params) if params else None
        return SparkResult(self.spark.sql(sql, args=args) if args else self.spark.sql(sql))

    def sql(self, sql: str) -> SparkResult:
        return self.execute(sql)

    def register(self, name: str, frame: pd.DataFrame | pa.Table) -> None:
        """A pandas frame or Arrow table as a temporary view (through Arrow, types kept)."""
        table = (
            frame
            if isinstance(frame, pa.Table)
            else pa.Table.from_pandas(frame, preserve_index=False)
        )
        self.spark.createDataFrame(table).createOrReplaceTempView(name)
        self._views.append(name)

    def unregister(self, name: str) -> None:
        self.spark.catalog.dropTempView(name)
        if name in self._views:
            self._views.remove(name)

    def cursor(self) -> SparkConnection:
        """A connection on the same session for another thread (a Spark session runs
        queries from several threads); closing it drops only the views it registered."""
        return SparkConnection(self.spark)

    def predict_clv(self, summary, fitted, gg, cfg):
        """Per-customer CLV predictions computed per partition (pipeline.spark.predict)."""
        from pipeline.spark.predict import predict_clv_partitioned

        return predict_clv_partitioned(self.spark, summary, fitted, gg, cfg)

    def close(self) -> None:
        """Drop this connection's views; the session stays up for the next stage."""
        for name in list(self._views):
            self.spark.catalog.dropTempView(name)
        self._views.clear()


def interim_location(cfg: dict[str, Any], default_dir: str) -> str:
    """Where the executors read the interim tables: spark.interim_uri, else the local dir."""
    base = cfg["spark"]["interim_uri"] or default_dir
    return base.rstrip("/")


def connect_spark(spark, location: str, tables: Sequence[str] = tuple(TABLES)) -> SparkConnection:
    """A connection with one view per interim `<location>/<table>.parquet`.

    A missing optional table (rm_contacts, surveys) has no view, as with DuckDB; a
    missing required one is an InputError.
    """
    from pyspark.errors import AnalysisException

    views = []
    for name in tables:  # no stale view from an earlier connection on this session
        spark.catalog.dropTempView(name)
    for name in tables:
        path = f"{location}/{name}.parquet"
        try:
            frame = spark.read.parquet(path)
        except AnalysisException as exc:
            if "PATH_NOT_FOUND" not in str(exc) and "Path does not exist" not in str(exc):
                raise
            if name in REQUIRED_TABLES:
                raise InputError(
                    f"{path}: canonical table {name!r} not found; run `crm ingest` first"
                ) from None
            continue
        frame.createOrReplaceTempView(name)
        views.append(name)
    return SparkConnection(spark, views)
