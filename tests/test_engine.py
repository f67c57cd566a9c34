"""The DuckDB engine: views over canonical tables, the same SQL on Parquet and on test
frames, cursors for other threads, and batches mapped in order."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from pipeline.catalog import Catalog
from pipeline.engine import Engine, connect, connect_frames
from pipeline.errors import InputError
from pipeline.io import write_parquet


def _interim(tmp_path: Path) -> Path:
    catalog = Catalog(tmp_path, tmp_path)
    for name in ("customers", "transactions", "balances"):
        write_parquet(pd.DataFrame({"customer_id": ["C1", "C2"]}), catalog.interim_table(name))
    return catalog.interim_dir


def test_views_read_interim_parquet_and_skip_absent_optional_tables(tmp_path: Path) -> None:
    engine = connect(_interim(tmp_path))
    assert engine.rows("SELECT count(*) FROM transactions") == [(2,)]
    assert engine.has_table("balances") and not engine.has_table("rm_contacts")
    assert engine.columns("customers") == ["customer_id"]


def test_a_missing_required_table_names_its_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"customers\.parquet: canonical table 'customers'"):
        connect(tmp_path / "interim")


def test_frames_are_queryable_under_their_table_names() -> None:
    engine = connect_frames({"customers": pd.DataFrame({"customer_id": ["a", "b", "c"]})})
    assert engine.rows("SELECT max(customer_id) FROM customers") == [("c",)]
    assert engine.arrow("SELECT count(*) AS n FROM customers").to_pylist() == [{"n": 3}]
    with_params = engine.arrow("SELECT count(*) AS n FROM customers WHERE customer_id > ?", ["a"])
    assert with_params.to_pylist() == [{"n": 2}]
    assert engine.frame("SELECT customer_id FROM customers WHERE customer_id > ?", ["a"])[
        "customer_id"
    ].tolist() == ["b", "c"]


def test_registered_frames_are_tables_until_unregistered() -> None:
    engine = connect_frames({})
    engine.register("extra", pa.table({"x": [1, 2]}))
    assert engine.rows("SELECT sum(x) FROM extra") == [(3,)]
    engine.unregister("extra")
    assert not engine.has_table("extra")


def test_another_thread_reads_the_same_tables_on_a_cursor(tmp_path: Path) -> None:
    """Steps that run beside each other (pipeline.steps) each query on a cursor:
    frames and Parquet views are seen there."""
    engines: list[Engine] = [
        connect(_interim(tmp_path)),
        connect_frames({"customers": pd.DataFrame({"customer_id": ["a", "b", "c"]})}),
    ]

    def count(engine: Engine, table: str) -> int:
        cursor = engine.cursor()
        try:
            return cursor.rows(f"SELECT count(*) FROM {table}")[0][0]
        finally:
            cursor.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        jobs = [
            pool.submit(count, engines[0], "transactions"),
            pool.submit(count, engines[1], "customers"),
        ]
        assert [job.result() for job in jobs] == [2, 3]


def test_map_batches_keeps_the_rows_in_order() -> None:
    table = pa.table({"customer_id": ["b", "a", "c"], "x": [1.0, 2.0, 3.0]})
    schema = pa.schema([("customer_id", pa.string()), ("y", pa.float64())])

    def double(batch: pa.Table) -> pa.Table:
        return pa.table(
            {"customer_id": batch["customer_id"], "y": pa.compute.multiply(batch["x"], 2)}
        )

    out = connect_frames({}).map_batches(double, table, schema)
    assert out.to_pydict() == {"customer_id": ["b", "a", "c"], "y": [2.0, 4.0, 6.0]}


NUMBERS_SQL = """
    SELECT id,
           CAST(x AS DECIMAL(38,4)) * CAST(0.01234567 AS DECIMAL(12,8)) AS margin,
           CAST(x AS INTEGER) AS whole,
           CASE WHEN x > 2 THEN 'big' END AS label
    FROM t ORDER BY id
"""


def test_numbers_are_the_frames_values_one_array_per_column() -> None:
    """Decimals come as the doubles `frame` gives (the same conversion, to the bit),
    NULL as NaN, integers as floats; text as objects with None for NULL."""
    engine = connect_frames(
        {"t": pd.DataFrame({"id": ["a", "b", "c"], "x": [1.25, None, 774298.830745]})}
    )
    got = engine.numbers(NUMBERS_SQL)
    frame = engine.frame(NUMBERS_SQL)
    assert list(got) == ["id", "margin", "whole", "label"]
    assert got["id"].dtype == object and got["id"].tolist() == ["a", "b", "c"]
    assert got["margin"].dtype == np.float64
    assert got["margin"][0] == 0.0154320875 and np.isnan(got["margin"][1])
    assert np.array_equal(
        got["margin"].view(np.int64), frame["margin"].to_numpy(dtype=float).view(np.int64)
    )
    assert got["whole"].dtype == np.float64 and np.isnan(got["whole"][1])
    assert got["whole"][[0, 2]].tolist() == [1.0, 774299.0]
    assert got["label"].tolist() == [None, None, "big"]
