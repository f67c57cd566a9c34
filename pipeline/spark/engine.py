"""The Spark `Engine` (pipeline.engine): canonical tables as Spark temporary views.

The same SQL the DuckDB engine runs (the features mart's passes, the BTYD summaries,
churn labels) runs here as Spark SQL, with pipeline.dialect.SPARK spelling the few
fragments the dialects disagree on. Queries run on the executors; only their results
(one row per customer at most) come back to the driver, as Arrow. `map_batches` applies a
pure row-wise function per partition on the executors (CLV predictions from the fitted
parameters), Arrow both ways (mapInArrow), and returns the rows in the input's order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.dialect import SPARK
from pipeline.errors import InputError
from pipeline.schema import REQUIRED_TABLES, TABLES
from pipeline.spark.session import without_pandas_notice

if TYPE_CHECKING:  # the protocol this class implements (pipeline.engine chooses engines)
    from pipeline.engine import BatchFunction

_ROW = "_row"  # each input row's position, carried through map_batches


class SparkEngine:
    """An `Engine` over a SparkSession's temporary views."""

    dialect = SPARK

    def __init__(self, spark, views: Sequence[str] = ()) -> None:
        self.spark = spark
        self._views = list(views)

    def _sql(self, sql: str, params: Sequence[Any] | None):
        """A DataFrame for SQL with positional `?` parameters (bound as literals)."""
        return self.spark.sql(sql, args=list(params)) if params else self.spark.sql(sql)

    def rows(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple]:
        return [tuple(row) for row in self._sql(sql, params).collect()]

    def arrow(self, sql: str, params: Sequence[Any] | None = None) -> pa.Table:
        return self._sql(sql, params).toArrow()

    def frame(self, sql: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
        return self.arrow(sql, params).to_pandas(date_as_object=True)

    def numbers(self, sql: str, params: Sequence[Any] | None = None) -> dict[str, np.ndarray]:
        table = self.arrow(sql, params)
        out = {}
        for field, column in zip(table.schema, table.columns, strict=True):
            values = column.to_pandas(date_as_object=True)
            if pa.types.is_decimal(field.type):  # Python Decimal objects, as `frame` gives
                out[field.name] = pd.to_numeric(values).to_numpy(dtype=float, na_value=np.nan)
            elif pa.types.is_integer(field.type) or pa.types.is_floating(field.type):
                out[field.name] = values.to_numpy(dtype=float, na_value=np.nan)
            else:
                out[field.name] = values.astype(object).where(values.notna(), None).to_numpy()
        return out

    def columns(self, table: str) -> list[str]:
        return list(self.spark.table(table).columns)

    def has_table(self, name: str) -> bool:
        return bool(self.spark.catalog.tableExists(name))

    def register(self, name: str, data: pa.Table | pd.DataFrame) -> None:
        """A pandas frame or Arrow table as a temporary view (through Arrow, types kept)."""
        table = (
            data if isinstance(data, pa.Table) else pa.Table.from_pandas(data, preserve_index=False)
        )
        self.spark.createDataFrame(table).createOrReplaceTempView(name)
        self._views.append(name)

    def unregister(self, name: str) -> None:
        self.spark.catalog.dropTempView(name)
        if name in self._views:
            self._views.remove(name)

    def map_batches(
        self,
        func: BatchFunction,
        table: pa.Table,
        schema: pa.Schema,
        partitions: int | None = None,
    ) -> pa.Table:
        """`func` per partition of `table` (default: Spark's default parallelism)."""
        from pyspark.sql.pandas.types import from_arrow_schema

        numbered = table.append_column(_ROW, pa.array(np.arange(len(table), dtype=np.int64)))
        n = partitions or self.spark.sparkContext.defaultParallelism
        source = self.spark.createDataFrame(numbered).repartition(max(1, n))
        out_schema = schema.append(pa.field(_ROW, pa.int64()))
        with without_pandas_notice():
            mapped = source.mapInArrow(_per_batch(func, out_schema), from_arrow_schema(out_schema))
        result = mapped.toArrow()
        order = pc.sort_indices(result[_ROW])
        return result.take(order).drop_columns([_ROW]).cast(schema)

    def cursor(self) -> SparkEngine:
        """An engine on the same session for another thread (a Spark session runs
        queries from several threads); closing it drops only the views it registered."""
        return SparkEngine(self.spark)

    def close(self) -> None:
        """Drop this engine's views; the session stays up for the next stage."""
        for name in list(self._views):
            self.spark.catalog.dropTempView(name)
        self._views.clear()


def _per_batch(func: BatchFunction, schema: pa.Schema):
    """What each executor runs over its partition's Arrow batches: `func` on each, the
    row numbers carried beside its output."""

    def run(batches):
        for batch in batches:
            if batch.num_rows == 0:
                continue
            part = pa.Table.from_batches([batch])
            out = func(part.drop_columns([_ROW])).append_column(_ROW, part[_ROW])
            yield from out.cast(schema).to_batches()

    return run


def interim_location(cfg: dict[str, Any], default_dir: str) -> str:
    """Where the executors read the interim tables: spark.interim_uri, else the local dir."""
    base = cfg["spark"]["interim_uri"] or default_dir
    return base.rstrip("/")


def connect_spark(spark, location: str, tables: Sequence[str] = tuple(TABLES)) -> SparkEngine:
    """A Spark engine with one view per interim `<location>/<table>.parquet`.

    A missing optional table (rm_contacts, surveys) has no view, as with DuckDB; a
    missing required one is an InputError.
    """
    from pyspark.errors import AnalysisException

    views = []
    for name in tables:  # no stale view from an earlier engine on this session
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
    return SparkEngine(spark, views)
