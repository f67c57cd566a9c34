"""DuckDB access to the canonical tables: one connection with a view per table.

Stages compute over a connection whose views are named after the canonical tables
(customers, transactions, balances, rm_contacts, ...). In production the views read
`<data>/interim/<table>.parquet`; tests copy small pandas frames into tables under the
same names, so the same SQL runs on both (and cursors of the connection see them).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import duckdb
import pandas as pd

from pipeline.catalog import Catalog
from pipeline.errors import InputError
from pipeline.schema import REQUIRED_TABLES, TABLES

T = TypeVar("T")


def connect(
    catalog: Catalog, tables: tuple[str, ...] = tuple(TABLES), threads: int = 2
) -> duckdb.DuckDBPyConnection:
    """A connection with one view per ingested table; required tables must exist."""
    con = duckdb.connect(config={"threads": threads})
    for name in tables:
        path = catalog.interim_table(name)
        if path.is_file():
            con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{_sql_path(path)}')")
        elif name in REQUIRED_TABLES:
            raise InputError(f"{path}: canonical table {name!r} not found; run `crm ingest` first")
    return con


def connect_frames(
    frames: Mapping[str, pd.DataFrame], threads: int = 1
) -> duckdb.DuckDBPyConnection:
    """A connection over in-memory frames, for tests and notebooks. Each frame is copied
    into a table, so cursors of the connection (other threads) see it too."""
    con = duckdb.connect(config={"threads": threads})
    for name, frame in frames.items():
        con.register(f"_{name}_frame", frame)
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM _{name}_frame")
        con.unregister(f"_{name}_frame")
    return con


def on_cursor(con, work: Callable[..., T], *args: Any) -> T:
    """`work(cursor, *args)` on a cursor of `con` of its own: how another thread queries
    the same tables (a DuckDB connection serves one thread at a time)."""
    cursor = con.cursor()
    try:
        return work(cursor, *args)
    finally:
        cursor.close()


def _sql_path(path) -> str:
    return str(path).replace("'", "''")


def connect_engine(cfg: dict, catalog: Catalog):
    """The connection for config `engine`: DuckDB (connect), or Spark (pipeline.spark),
    both with the canonical tables as views under their names and the same SQL."""
    if cfg.get("engine") == "spark":
        from pipeline.spark import connect as connect_spark

        return connect_spark(cfg, catalog)
    return connect(catalog)
