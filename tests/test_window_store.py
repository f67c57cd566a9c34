"""The label windows the score stage keeps between months (pipeline.scoring.window_store):
read back exactly as built, built once per fingerprint and window, and a new
fingerprint whenever the tables, the score stage's config or its engine change. That a
score run reading them writes the same bytes as one building them: the re-run in
tests/test_scoring_sample_bank.py::test_score_is_deterministic, and the demo's months
(docs/performance-history.md)."""

from __future__ import annotations

import copy
import os
from datetime import date

import numpy as np
import pandas as pd
import pytest

from pipeline.catalog import Catalog
from pipeline.config import load_config
from pipeline.scoring import churn
from pipeline.scoring.settings import ScoreSettings
from pipeline.scoring.window_store import (
    WindowStore,
    fingerprint,
    frame_window,
    window_frame,
    window_source,
)

START, END = date(2025, 7, 31), date(2025, 10, 31)
COLUMNS = ("aum", "tier_rank", "has_fund")


def a_window() -> churn.Window:
    """A window like churn.window's: sorted ids, an F-ordered float X with NaN and -0.0,
    int labels, context of text and flags (an empty segment, a CJK value)."""
    X = pd.DataFrame(
        np.asfortranarray([[1.5, 0.0, np.nan], [-0.0, 3.0, 1.0], [np.inf, np.nan, 0.0]]),
        columns=list(COLUMNS),
        copy=False,
    )
    ids = pd.Series(["C001", "C002", "C010"], name="customer_id").astype("str")
    context = pd.DataFrame(
        {
            "branch_id": np.array(["B01", "B01", "B02"], dtype=object),
            "tier": np.array(["mass", "wealth", "mass"], dtype=object),
            "has_rm": np.array([False, True, False]),
            "segment": np.array(["", "财富 / True", "mass / False"], dtype=object),
        }
    )
    return churn.Window(ids, X, np.array([0, 1, 0]).astype(int), context)


def assert_same_window(got: churn.Window, want: churn.Window) -> None:
    pd.testing.assert_series_equal(got.ids, want.ids, check_exact=True)
    pd.testing.assert_frame_equal(got.X, want.X, check_exact=True)
    assert got.y.dtype == want.y.dtype and np.array_equal(got.y, want.y)
    pd.testing.assert_frame_equal(got.context, want.context, check_exact=True)
    assert np.signbit(got.X["aum"].to_numpy()[1])  # -0.0 kept


def test_a_window_reads_back_as_built(tmp_path):
    w = a_window()
    path = tmp_path / "w.parquet"
    window_frame(w).to_parquet(path)
    assert_same_window(frame_window(pd.read_parquet(path), COLUMNS), w)


def test_a_window_is_built_once_then_read_and_a_bad_file_is_built_again(tmp_path, monkeypatch):
    built = []

    def build(engine, start, end, plan, s):
        built.append((start, end, tuple(plan.columns)))
        return a_window()

    monkeypatch.setattr(churn, "window", build)
    store = WindowStore(tmp_path / "windows", "abc")
    plan = churn.ChurnPlan(date(2026, 10, 31), START, END, COLUMNS)
    first = store(None, START, END, plan, None)
    again = store(None, START, END, plan, None)
    assert built == [(START, END, COLUMNS)]
    assert_same_window(again, first)

    other = churn.ChurnPlan(date(2026, 10, 31), START, END, COLUMNS[:2])
    store(None, START, END, other, None)  # other model inputs: another window
    store(None, END, date(2026, 1, 31), plan, None)  # other dates: another window
    assert len(built) == 3 and len(list(store.folder.glob("abc-*.parquet"))) == 3

    store.path(START, END, COLUMNS).write_bytes(b"not parquet")
    assert_same_window(store(None, START, END, plan, None), first)
    assert len(built) == 4  # built again, and stored anew
    assert_same_window(store(None, START, END, plan, None), first)
    assert len(built) == 4


def test_a_window_that_cannot_be_stored_is_still_returned(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(churn, "window", lambda engine, start, end, plan, s: a_window())
    blocked = tmp_path / "file"
    blocked.write_text("a file where the folder would be")
    store = WindowStore(blocked / "windows", "abc")
    plan = churn.ChurnPlan(date(2026, 10, 31), START, END, COLUMNS)
    with caplog.at_level("WARNING"):
        for start in (START, END):
            assert_same_window(store(None, start, END, plan, None), a_window())
    assert store.unwritable
    assert sum("not kept" in r.getMessage() for r in caplog.records) == 1  # said once


def test_windows_of_another_fingerprint_are_removed(tmp_path):
    folder = tmp_path / "windows"
    folder.mkdir()
    for name in ("old-2025-07-31-x.parquet", "new-2025-07-31-y.parquet", "new-notes.txt"):
        (folder / name).write_bytes(b"")
    removed = WindowStore(folder, "new").remove_others()
    assert [p.name for p in removed] == ["old-2025-07-31-x.parquet"]
    assert sorted(p.name for p in folder.iterdir()) == [
        "new-2025-07-31-y.parquet",
        "new-notes.txt",
    ]


@pytest.fixture
def root(tmp_path):
    catalog = Catalog(tmp_path / "data", tmp_path / "reports")
    catalog.interim_dir.mkdir(parents=True)
    for table in ("customers", "transactions", "balances"):
        catalog.interim_table(table).write_bytes(b"table " + table.encode())
    cfg = load_config(data_dir=catalog.data_dir, report_dir=catalog.report_dir)
    return cfg, catalog


def test_the_fingerprint_changes_with_tables_config_and_engine_only(root):
    cfg, catalog = root
    before = fingerprint(cfg, catalog)
    assert fingerprint(copy.deepcopy(cfg), catalog) == before

    machine = copy.deepcopy(cfg)
    machine["report"]["workers"] = 7  # changes no output
    assert fingerprint(machine, catalog) == before

    horizon = copy.deepcopy(cfg)
    horizon["churn"]["horizon_months"] += 1
    assert fingerprint(horizon, catalog) != before

    spark = copy.deepcopy(cfg)
    spark["engine"] = "spark"
    assert fingerprint(spark, catalog) != before

    table = catalog.interim_table("balances")
    stat = table.stat()
    table.write_bytes(b"table balances")  # rewritten by an ingest: same bytes, new time
    os.utime(table, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    rewritten = fingerprint(cfg, catalog)
    assert rewritten != before

    # other content of the same size at the same time (a file system keeping seconds)
    stat = table.stat()
    table.write_bytes(b"table BALANCES")
    os.utime(table, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert fingerprint(cfg, catalog) not in (before, rewritten)


def test_windows_are_kept_only_where_the_effect_stacks_several(root):
    cfg, catalog = root
    s = ScoreSettings.from_config(cfg)
    rows = s.contact_effect.max_training_rows
    assert isinstance(window_source(cfg, catalog, s, rows // 3), WindowStore)
    assert window_source(cfg, catalog, s, rows // 2 + 1) is churn.window  # one window
    off = copy.deepcopy(cfg)
    off["contact_effect"]["enabled"] = False
    s_off = ScoreSettings.from_config(off)
    assert window_source(off, catalog, s_off, 100) is churn.window
