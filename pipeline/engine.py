"""What the stages need from a SQL engine, and the DuckDB engine that gives it.

Stages compute over an `Engine` whose tables are named after the canonical tables
(customers, transactions, balances, rm_contacts, ...). `Engine` is the whole surface
they use: run SQL to rows, Arrow, pandas or NumPy columns of numbers; the columns of a
table; whether a table exists; register a frame as a table; map a pure function over the
batches of a table; a cursor for another thread. DuckDB (here) and Spark
(pipeline.spark.engine) implement it, and each says its SQL dialect (pipeline.dialect)
for the few fragments the two spell differently. Engines know nothing of the stages:
they import no stage package.

In production the tables are views over `<data>/interim/<table>.parquet` (`connect`);
tests and notebooks copy small pandas frames into tables under the same names
(`connect_frames`), so the same SQL runs on both.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from pipeline.dialect import DUCKDB, Dialect
from pipeline.errors import InputError
from pipeline.schema import REQUIRED_TABLES, TABLES

BatchFunction = Callable[[pa.Table], pa.Table]


class Engine(Protocol):
    """The SQL engine a stage computes on (DuckDB in process, or Spark)."""

    dialect: Dialect

    def rows(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple]:
        """Every row of a query's result (small results: counts, dates, lists)."""
        ...

    def arrow(self, sql: str, params: Sequence[Any] | None = None) -> pa.Table:
        """A query's result as an Arrow table (one row per customer at most)."""
        ...

    def frame(self, sql: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
        """A query's result as a pandas frame."""
        ...

    def numbers(self, sql: str, params: Sequence[Any] | None = None) -> dict[str, np.ndarray]:
        """A query's result as one NumPy array per column: numbers (decimals included)
        as float64 with NaN for NULL, the values `frame` would give; other columns
        (text, dates, booleans) as object arrays with None for NULL. For wide results of
        numbers, without building a frame."""
        ...

    def columns(self, table: str) -> list[str]:
        """The column names of a table, in order."""
        ...

    def has_table(self, name: str) -> bool:
        """Whether a table (or view) of that name exists (optional tables may not)."""
        ...

    def register(self, name: str, data: pa.Table | pd.DataFrame) -> None:
        """Make an in-memory table queryable under `name` until `unregister(name)`. On
        Spark every cursor sees it: work that may run beside other work names its own."""
        ...

    def unregister(self, name: str) -> None: ...

    def map_batches(self, func: BatchFunction, table: pa.Table, schema: pa.Schema) -> pa.Table:
        """`func` applied to slices of `table`, the results (of `schema`) concatenated in
        the input's row order. `func` must be row-wise (each output row depends only on
        its input row) and picklable: Spark runs it on its executors."""
        ...

    def cursor(self) -> Engine:
        """An engine over the same tables for another thread."""
        ...

    def close(self) -> None: ...


class DuckDBEngine:
    """An `Engine` over one DuckDB connection."""

    dialect = DUCKDB

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    def rows(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple]:
        return self.con.execute(sql, params).fetchall()

    def arrow(self, sql: str, params: Sequence[Any] | None = None) -> pa.Table:
        self.con.execute("SELECT 1").fetchall()  # complete any result left open on con
        return self.con.sql(sql, params=params or None).to_arrow_table()

    def frame(self, sql: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
        return self.con.execute(sql, params).df()

    def numbers(self, sql: str, params: Sequence[Any] | None = None) -> dict[str, np.ndarray]:
        # fetchnumpy converts decimals as df() does (a cast in SQL or in Arrow can round
        # the last bit differently), without pandas' copy into blocks; NULLs are masked
        out = {}
        for name, column in self.con.execute(sql, params).fetchnumpy().items():
            column = np.ma.asarray(column)
            if column.dtype.kind in "iuf":  # a column without NULLs is used as it came
                values = np.ma.filled(column.astype(float, copy=False), np.nan)
            else:
                values = column.data.astype(object)
                values[np.ma.getmaskarray(column)] = None
            out[name] = values
        return out

    def columns(self, table: str) -> list[str]:
        return [row[0] for row in self.con.execute(f"DESCRIBE {table}").fetchall()]

    def has_table(self, name: str) -> bool:
        sql = "SELECT count(*) FROM information_schema.tables WHERE table_name = ?"
        return bool(self.con.execute(sql, [name]).fetchall()[0][0])

    def register(self, name: str, data: pa.Table | pd.DataFrame) -> None:
        self.con.register(name, data)

    def unregister(self, name: str) -> None:
        self.con.unregister(name)

    def map_batches(self, func: BatchFunction, table: pa.Table, schema: pa.Schema) -> pa.Table:
        """In process, the whole table is one batch."""
        return func(table).select(schema.names)

    def cursor(self) -> DuckDBEngine:
        return DuckDBEngine(self.con.cursor())

    def close(self) -> None:
        self.con.close()


def connect(
    interim_dir: Path, tables: tuple[str, ...] = tuple(TABLES), threads: int = 2
) -> DuckDBEngine:
    """DuckDB with one view per ingested `<interim_dir>/<table>.parquet`; a required
    table that is not there is an InputError."""
    con = duckdb.connect(config={"threads": threads})
    for name in tables:
        path = Path(interim_dir) / f"{name}.parquet"
        if path.is_file():
            con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{_sql_path(path)}')")
        elif name in REQUIRED_TABLES:
            raise InputError(f"{path}: canonical table {name!r} not found; run `crm ingest` first")
    return DuckDBEngine(con)


def connect_frames(frames: Mapping[str, pd.DataFrame], threads: int = 1) -> DuckDBEngine:
    """DuckDB over in-memory frames, for tests and notebooks. Each frame is copied into a
    table, so cursors (other threads) see it too."""
    con = duckdb.connect(config={"threads": threads})
    for name, frame in frames.items():
        con.register(f"_{name}_frame", frame)
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM _{name}_frame")
        con.unregister(f"_{name}_frame")
    return DuckDBEngine(con)


def connect_engine(cfg: Mapping[str, Any], interim_dir: Path) -> Engine:
    """The engine of config `engine` over the canonical tables in `interim_dir`: DuckDB,
    or Spark (pipeline.spark; `spark.interim_uri` may point its executors elsewhere)."""
    if cfg.get("engine") == "spark":
        from pipeline.spark import connect as connect_spark

        return connect_spark(cfg, str(interim_dir))
    return connect(interim_dir)


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")
