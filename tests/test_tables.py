"""DuckDB views over canonical tables: the same SQL on Parquet and on test frames."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from pipeline.catalog import Catalog
from pipeline.errors import InputError
from pipeline.io import write_parquet
from pipeline.tables import connect, connect_frames, on_cursor


def test_views_read_interim_parquet_and_skip_absent_optional_tables(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path, tmp_path)
    for name in ("customers", "transactions", "balances"):
        write_parquet(pd.DataFrame({"customer_id": ["C1", "C2"]}), catalog.interim_table(name))
    con = connect(catalog)
    assert con.execute("SELECT count(*) FROM transactions").fetchall() == [(2,)]
    views = {row[0] for row in con.execute("SELECT view_name FROM duckdb_views()").fetchall()}
    assert {"customers", "transactions", "balances"} <= views
    assert "rm_contacts" not in views


def test_a_missing_required_table_names_its_file(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path, tmp_path)
    with pytest.raises(InputError, match=r"customers\.parquet: canonical table 'customers'"):
        connect(catalog)


def test_frames_are_queryable_under_their_table_names() -> None:
    con = connect_frames({"customers": pd.DataFrame({"customer_id": ["a", "b", "c"]})})
    assert con.execute("SELECT max(customer_id) FROM customers").fetchall() == [("c",)]


def test_another_thread_reads_the_same_tables_on_a_cursor(tmp_path: Path) -> None:
    """score runs CLV beside churn on a cursor: frames and Parquet views are seen there."""
    from concurrent.futures import ThreadPoolExecutor

    catalog = Catalog(tmp_path, tmp_path)
    for name in ("customers", "transactions", "balances"):
        write_parquet(pd.DataFrame({"customer_id": ["C1", "C2"]}), catalog.interim_table(name))
    frames = connect_frames({"customers": pd.DataFrame({"customer_id": ["a", "b", "c"]})})

    def count(cursor, table: str) -> int:
        return cursor.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]

    with ThreadPoolExecutor(max_workers=1) as pool:
        jobs = [
            pool.submit(on_cursor, connect(catalog), count, "transactions"),
            pool.submit(on_cursor, frames, count, "customers"),
        ]
        assert [job.result() for job in jobs] == [2, 3]
