"""Calibration/holdout validation pieces and the score stage's edges, on hand-made data."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scoring_support import clv_settings

from pipeline.catalog import Catalog
from pipeline.cli import cli
from pipeline.config import load_config
from pipeline.errors import InputError
from pipeline.generation import PeriodStage
from pipeline.io import write_json, write_parquet
from pipeline.scoring.stage import run_score
from pipeline.scoring.summary import calibration_end
from pipeline.scoring.validation import accuracy, by_frequency, validate_clv


def test_calibration_end_is_a_month_end_before_as_of():
    assert calibration_end(date(2026, 10, 31), 6) == date(2026, 4, 30)
    assert calibration_end(date(2026, 3, 31), 1) == date(2026, 2, 28)


def test_accuracy_by_hand():
    predicted = np.array([1.0, 2.0, 3.0, 0.0])
    actual = np.array([0.0, 2.0, 5.0, 1.0])
    got = accuracy(predicted, actual)
    assert got["mae"] == pytest.approx((1 + 0 + 2 + 1) / 4)
    assert got["rmse"] == pytest.approx(np.sqrt((1 + 0 + 4 + 1) / 4))
    assert got["predicted_total"] == 6.0 and got["actual_total"] == 8.0
    assert got["aggregate_pct_error"] == pytest.approx(-25.0)
    assert got["correlation"] == pytest.approx(np.corrcoef(predicted, actual)[0, 1])


def test_accuracy_without_holdout_activity_has_no_pct_error():
    got = accuracy(np.array([0.5, 0.5, 0.5]), np.zeros(3))
    assert got["aggregate_pct_error"] is None and got["correlation"] is None


def test_by_frequency_buckets_top_out_at_seven_plus():
    f = np.array([0, 0, 1, 9, 12])
    rows = by_frequency(
        f, np.array([0.1, 0.3, 1.0, 5.0, 7.0]), np.zeros(5), np.array([0, 1, 1, 4, 8])
    )
    assert [r["calibration_frequency"] for r in rows] == ["0", "1", "7+"]
    assert rows[0]["customers"] == 2 and rows[0]["model_mean"] == pytest.approx(0.2)
    assert rows[2]["actual_mean"] == pytest.approx(6.0)


def test_validation_on_a_history_no_longer_than_the_holdout_says_so():
    """Nobody transacted by the calibration end (a 6-month history, 6 months held out):
    the card says the history is too short, not "0 customers of 0"."""
    s = clv_settings(load_config(env={}))
    empty = pd.DataFrame(
        {k: pd.Series(dtype="float64") for k in ("frequency", "recency", "T", "holdout_events")}
    )
    got = validate_clv(date(2026, 10, 31), s, empty)
    assert got["status"] == "not_run" and got["verdict"] is None
    assert got["calibration_end"] == "2026-04-30"
    assert got["warning"] == (
        "CLV validation not possible on the calibration period: no customer-initiated "
        "transaction on or before its end, 2026-04-30 (clv.holdout_months = "
        f"{s.holdout_months} before 2026-10-31); their history must be longer than the "
        f"{s.holdout_months} months held out"
    )


def test_run_score_without_features_is_a_clear_input_error(tmp_path):
    cfg = load_config(data_dir=tmp_path / "data", report_dir=tmp_path / "reports")
    with pytest.raises(InputError, match="run `crm features --period 2026-10` first"):
        run_score(cfg, Catalog.from_config(cfg), "2026-10")


def test_crm_score_on_thin_data_exits_2_with_one_line(tmp_path):
    """Too few repeat customers: the CLI prints the reason and writes nothing."""
    root = tmp_path / "data"
    catalog = Catalog(root, tmp_path / "reports")
    customers = pd.DataFrame(
        {
            "customer_id": ["A", "B"],
            "branch_id": "B1",
            "open_date": [date(2025, 1, 1)] * 2,
        }
    )
    txns = pd.DataFrame(
        {
            "txn_id": ["t1", "t2", "t3", "t4"],
            "customer_id": ["A", "A", "B", "A"],
            "txn_time": pd.to_datetime(["2026-01-05", "2026-02-20", "2026-02-01", "2026-02-28"]),
            "amount": 10.0,
            "direction": "debit",
            "channel": "mobile",
            "txn_type": "card_purchase",
            "revenue": 0.1,
            "customer_initiated": True,
        }
    )
    balances = pd.DataFrame(
        {
            "customer_id": ["A", "B"],
            "month_end": [date(2026, 2, 28)] * 2,
            "product": "current_deposit",
            "balance": 100.0,
        }
    )
    for name, frame in (("customers", customers), ("transactions", txns), ("balances", balances)):
        write_parquet(frame, catalog.interim_table(name))
    # the last complete month of the data (transactions up to 2026-02-28), its features
    # stamped as the features stage stamps them
    write_json({"source": "sample"}, catalog.ingest_manifest)  # the config's source
    write_parquet(pd.DataFrame({"customer_id": ["A", "B"]}), catalog.customer_features("2026-02"))
    cfg = load_config(data_dir=root, report_dir=tmp_path / "reports", env={})
    with PeriodStage(cfg, catalog, "2026-02", "features") as stage:
        stage.complete()
    args = ["--data-dir", str(root), "--report-dir", str(tmp_path / "reports")]
    done = CliRunner().invoke(cli, [*args, "score", "--period", "2026-02"])
    assert done.exit_code == 2
    assert "too little data to fit BG/NBD: 1 customers with a repeat transaction" in done.output
    assert not catalog.customer_scores("2026-02").exists()
    assert not catalog.model_card("2026-02").exists()
