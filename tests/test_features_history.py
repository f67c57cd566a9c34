"""The KPI history behind the reports' trends: months that were run are read, months never
run are computed as `crm features` would have, and attrition follows the churn definition
(worked out by hand on the small bank of test_features_support)."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest
from test_features_support import PERIOD, bank, cfg

from pipeline.engine import connect_frames
from pipeline.features import history as hist
from pipeline.features.core import customer_features
from pipeline.features.history import HistorySettings, branch_history, history_periods
from pipeline.features.kpis import compute_branch_kpis
from pipeline.features.settings import FeatureSettings
from pipeline.periods import as_of_date

SILENT = SimpleNamespace(definition="silent_attrition")


def settings(**overrides):
    c = cfg(**{"features.history_months": 3, **overrides})
    return FeatureSettings.from_config(c), HistorySettings.from_config(c)


def kpis_at(engine, period: str, s: FeatureSettings) -> pd.DataFrame:
    as_of = as_of_date(period)
    return compute_branch_kpis(customer_features(engine, as_of, s), s, period, as_of)


def rows(history: pd.DataFrame, period: str) -> pd.DataFrame:
    return history[history["period"] == period].reset_index(drop=True)


def test_history_periods_end_with_the_period() -> None:
    assert history_periods("2026-02", 4) == ["2025-11", "2025-12", "2026-01", "2026-02"]


def test_months_never_run_are_computed_as_crm_features_would() -> None:
    engine = connect_frames(bank())
    s, h = settings()
    current = kpis_at(engine, PERIOD, s)
    got = branch_history(engine, PERIOD, current, {}, None, s, h)
    assert list(dict.fromkeys(got["period"])) == ["2026-08", "2026-09", "2026-10"]
    assert list(got.groupby("period", sort=True)["source"].first()) == [
        "computed",
        "computed",
        "stored",
    ]
    for month in ("2026-08", "2026-09", "2026-10"):
        expected = kpis_at(engine, month, s)
        mine = rows(got, month)[expected.columns]
        pd.testing.assert_frame_equal(mine, expected, check_dtype=False, check_exact=True)
    # the months computed side by side (one step each) give the same history
    side_by_side = branch_history(engine, PERIOD, current, {}, None, s, h, workers=2)
    pd.testing.assert_frame_equal(side_by_side, got, check_exact=True)


def test_months_before_the_data_have_no_row() -> None:
    """The data start in September: August, computed, would be a month of zeros (AUM 0,
    everyone dormant), and September's report would read as growth from nothing."""
    engine = connect_frames(bank())
    s, h = settings()
    current = kpis_at(engine, PERIOD, s)
    got = branch_history(engine, PERIOD, current, {}, None, s, h, first_month="2026-09")
    assert list(dict.fromkeys(got["period"])) == ["2026-09", "2026-10"]
    everything = branch_history(engine, PERIOD, current, {}, None, s, h)
    expected = everything[everything["period"] != "2026-08"].reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)


def test_attrition_counts_the_churn_definition_by_branch() -> None:
    """`closed`: of the customers open at the window's start, those whose close_date falls
    in it. (Jul 31, Oct 31]: B1 has A, F, H open and none closed; B2 has C, D, G open,
    C closed Oct 10 and D Sep 30. (Jun 30, Sep 30]: only D."""
    engine = connect_frames(bank())
    s, h = settings(**{"churn.definition": "closed"})
    got = branch_history(engine, PERIOD, kpis_at(engine, PERIOD, s), {}, None, s, h)
    oct_ = rows(got, "2026-10").set_index(rows(got, "2026-10")["branch_id"].fillna("all"))
    assert list(oct_["attrition_customers"]) == [3, 3, 6]
    assert list(oct_["attrition_churners"]) == [0, 2, 2]
    assert oct_.loc["B2", "attrition_rate"] == pytest.approx(2 / 3)
    sep = rows(got, "2026-09")
    assert list(sep["attrition_churners"]) == [0, 1, 1]


def test_silent_attrition_needs_aum_at_the_start_and_the_drop() -> None:
    """Silent attrition over (Jul 31, Oct 31]: A (40,000 -> 55,000), C (200 -> 0) and F
    (500,000 -> 600,000) had AUM on Jul 31. Only C lost half; C transacted on Oct 9 and
    closed on Oct 10: it left, inactivity required or not. Were C still open, it would
    count only when inactivity is not required."""
    for still_open, inactive, churners in (
        (False, True, [0, 1, 1]),
        (False, False, [0, 1, 1]),
        (True, True, [0, 0, 0]),
        (True, False, [0, 1, 1]),
    ):
        frames = bank()
        if still_open:
            c = frames["customers"]["customer_id"] == "C"
            frames["customers"].loc[c, ["close_date", "status"]] = [pd.NaT, "active"]
        engine = connect_frames(frames)
        s, h = settings(**{"churn.inactive_in_window": inactive})
        got = branch_history(engine, PERIOD, kpis_at(engine, PERIOD, s), {}, None, s, h)
        october = rows(got, "2026-10")
        assert list(october["attrition_customers"]) == [2, 1, 3]
        assert list(october["attrition_churners"]) == churners


def test_stored_months_are_read_and_a_monthly_run_computes_only_its_own_attrition(
    monkeypatch,
) -> None:
    engine = connect_frames(bank())
    s, h = settings()
    stored = kpis_at(engine, "2026-08", s).assign(customers=999)  # what was reported then
    first = branch_history(
        engine, "2026-09", kpis_at(engine, "2026-09", s), {"2026-08": stored}, None, s, h
    )
    assert set(rows(first, "2026-08")["customers"]) == {999}
    assert rows(first, "2026-08")["source"].eq("stored").all()
    assert rows(first, "2026-07")["source"].eq("computed").all()

    marts, windows = [], []
    monkeypatch.setattr(hist, "kpi_features", lambda *a: marts.append(a) or None)
    real = hist.branch_attrition
    monkeypatch.setattr(
        hist, "branch_attrition", lambda e, p, c, k: windows.append(p) or real(e, p, c, k)
    )
    current = kpis_at(engine, PERIOD, s)
    second = branch_history(engine, PERIOD, current, {}, first, s, h)
    # August's window ends where this bank holds no balance snapshot: its attrition is
    # unknown, asked again each run (a late export would fill it)
    assert rows(first, "2026-08")["attrition_rate"].isna().all()
    assert marts == [] and windows == ["2026-08", PERIOD]
    pd.testing.assert_frame_equal(
        rows(second, "2026-08").drop(columns="period"),
        rows(first, "2026-08").drop(columns="period"),
    )


def test_attrition_by_branch_counts_each_branch_once_and_a_customer_without_one_in_the_network(
    monkeypatch,
) -> None:
    population = pd.DataFrame({"branch_id": pd.array(["B2", "B1", None, "B2", "B3"], "string")})
    labels = pd.DataFrame({"row": [0, 1, 2, 3], "churned": [True, False, True, False]})
    monkeypatch.setattr(hist, "customer_aum", lambda engine, start: population)
    monkeypatch.setattr(hist, "label_window", lambda engine, pop, start, end, c: labels)
    monkeypatch.setattr(hist, "end_snapshot", lambda engine, end: True)
    got = hist.branch_attrition(None, PERIOD, SILENT, 3)
    assert got["branch_id"].tolist()[:3] == ["B1", "B2", "B3"] and pd.isna(got["branch_id"][3])
    assert got["scope"].tolist() == ["branch", "branch", "branch", "network"]
    assert got["attrition_customers"].tolist() == [1, 2, 0, 4]
    assert got["attrition_churners"].tolist() == [0, 1, 0, 2]
    rates = got["attrition_rate"].tolist()
    assert rates[:2] == [0.0, 0.5] and pd.isna(rates[2]) and rates[3] == 0.5


def test_attrition_without_a_snapshot_at_the_windows_end_is_unknown_not_zero() -> None:
    """Balances that stop before the window's end would compare AUM at start with an older
    snapshot: nobody would be seen to leave. The rate is null, every branch and the
    network, rather than 0%."""
    frames = bank()
    frames["balances"] = frames["balances"][
        pd.to_datetime(frames["balances"]["month_end"]) < pd.Timestamp("2026-10-31")
    ]
    _, h = settings()
    got = hist.branch_attrition(connect_frames(frames), PERIOD, h, 3)
    assert got["scope"].iloc[-1] == "network" and len(got) >= 2
    assert got["attrition_rate"].isna().all() and got["attrition_customers"].isna().all()
    with_snapshot = hist.branch_attrition(connect_frames(bank()), PERIOD, h, 3)
    assert with_snapshot["attrition_rate"].notna().any()
