"""The DuckDB BTYD summary agrees exactly with lifetimes' summary_data_from_transaction_data."""

from __future__ import annotations

import copy
import warnings
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scoring_support import clv_settings

from pipeline.config import load_config
from pipeline.engine import connect_frames
from pipeline.errors import ConfigError
from pipeline.scoring.summary import btyd_summaries, btyd_summary, holdout_length

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from lifetimes.utils import summary_data_from_transaction_data

AS_OF = date(2026, 10, 31)  # a Saturday


@pytest.fixture(scope="module")
def cfg():
    return load_config()


def _txns(rows) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=["customer_id", "txn_time", "revenue", "customer_initiated"])
    n = len(df)
    df.insert(0, "txn_id", [f"t{i:05d}" for i in range(n)])
    df["txn_time"] = pd.to_datetime(df["txn_time"])
    df["amount"] = 100.0
    df["txn_type"] = np.where(df["customer_initiated"], "card_purchase", "interest")
    df["customer_id"] = df["customer_id"].astype("string")
    return df


def _lifetimes(df: pd.DataFrame, unit: str) -> pd.DataFrame:
    ci = df[df["customer_initiated"]]
    freq = {"day": "D", "week": "W"}[unit]
    out = summary_data_from_transaction_data(
        ci,
        "customer_id",
        "txn_time",
        monetary_value_col="revenue",
        observation_period_end=pd.Timestamp(AS_OF),
        freq=freq,
    )
    return out.sort_index()


HAND = [
    # customer A: two transactions on day 1 (one event worth 3+5), then day 8 and day 22
    ("A", "2026-10-01 09:00", 3.0, True),
    ("A", "2026-10-01 17:30", 5.0, True),
    ("A", "2026-10-08 10:00", 4.0, True),
    ("A", "2026-10-22 23:59", 10.0, True),
    ("A", "2026-10-23 08:00", 99.0, False),  # interest credit: not the customer's doing
    # customer B: a single transaction on the as-of day itself
    ("B", "2026-10-31 23:00", 7.0, True),
    # customer C: only bank-initiated rows, so no BTYD history
    ("C", "2026-09-01 12:00", 1.0, False),
    # customer D: after the as-of date only
    ("D", "2026-11-01 00:00", 1.0, True),
]


def test_hand_made_daily_summary_by_hand(cfg):
    con = connect_frames({"transactions": _txns(HAND)})
    got = btyd_summary(con, AS_OF, clv_settings(cfg, "day")).set_index("customer_id")
    assert list(got.index) == ["A", "B"]
    # A: events on Oct 1 (8.0), Oct 8 (4.0), Oct 22 (10.0): 2 repeats, mean (4+10)/2
    assert got.loc["A"].to_dict() == {
        "frequency": 2.0,
        "recency": 21.0,
        "T": 30.0,
        "monetary_value": 7.0,
    }
    assert got.loc["B"].to_dict() == {
        "frequency": 0.0,
        "recency": 0.0,
        "T": 0.0,
        "monetary_value": 0.0,
    }


def test_hand_made_weekly_summary_by_hand(cfg):
    con = connect_frames({"transactions": _txns(HAND)})
    got = btyd_summary(con, AS_OF, clv_settings(cfg, "week")).set_index("customer_id")
    # weeks start Monday: Oct 1 -> Sep 28, Oct 8 -> Oct 5, Oct 22 -> Oct 19, as-of -> Oct 26
    assert got.loc["A"].to_dict() == {
        "frequency": 2.0,
        "recency": 3.0,
        "T": 4.0,
        "monetary_value": 7.0,
    }


def test_daily_events_in_weeks_are_lifetimes_days_times_seven(cfg):
    """The default: one event per customer and day, times in weeks of 7 days (lifetimes'
    freq "D" with freq_multiplier 7, as Fader and Hardie's CDNOW summary has them)."""
    s = clv_settings(cfg, "week", event_period="day")
    assert (s.event_period, s.time_unit) == ("day", "week")
    df = _txns(HAND)
    df = df[df["txn_time"] < pd.Timestamp(AS_OF + timedelta(days=1))]
    got = btyd_summary(connect_frames({"transactions": df}), AS_OF, s).set_index("customer_id")
    assert got.loc["A"].to_dict() == {
        "frequency": 2.0,
        "recency": 21.0 / 7,
        "T": 30.0 / 7,
        "monetary_value": 7.0,
    }
    ci = df[df["customer_initiated"]]
    ref = summary_data_from_transaction_data(
        ci,
        "customer_id",
        "txn_time",
        monetary_value_col="revenue",
        observation_period_end=pd.Timestamp(AS_OF),
        freq="D",
        freq_multiplier=7,
    ).sort_index()
    pd.testing.assert_frame_equal(got, ref, check_names=False, check_index_type=False, rtol=1e-12)


def test_default_settings_are_daily_events_in_weeks(cfg):
    s = clv_settings(cfg)
    assert (s.event_period, s.time_unit, s.penalizer, s.value_penalizer) == ("day", "week", 0, 0)


@pytest.mark.parametrize("unit", ["day", "week"])
def test_hand_made_agrees_with_lifetimes(cfg, unit):
    df = _txns(HAND)
    df = df[df["txn_time"] < pd.Timestamp(AS_OF + timedelta(days=1))]
    got = btyd_summary(
        connect_frames({"transactions": df}), AS_OF, clv_settings(cfg, unit)
    ).set_index("customer_id")
    ref = _lifetimes(df, unit)
    pd.testing.assert_frame_equal(got, ref, check_names=False, check_index_type=False, rtol=1e-12)


_row = st.tuples(
    st.sampled_from(["c01", "c02", "c03", "c04", "c05", "c06"]),
    st.integers(min_value=0, max_value=400),  # days before the as-of date
    st.integers(min_value=0, max_value=86399),  # second of the day
    st.floats(min_value=-5, max_value=500, allow_nan=False).map(lambda x: round(x, 2)),
    st.booleans(),
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(_row, min_size=1, max_size=60), unit=st.sampled_from(["day", "week"]))
def test_summary_agrees_with_lifetimes(cfg, rows, unit):
    base = datetime(AS_OF.year, AS_OF.month, AS_OF.day)
    table = [(c, base - timedelta(days=d) + timedelta(seconds=s), v, ci) for c, d, s, v, ci in rows]
    df = _txns(table)
    got = btyd_summary(
        connect_frames({"transactions": df}), AS_OF, clv_settings(cfg, unit)
    ).set_index("customer_id")
    if not df["customer_initiated"].any():
        assert got.empty
        return
    ref = _lifetimes(df, unit)
    pd.testing.assert_frame_equal(got, ref, check_names=False, check_index_type=False, rtol=1e-12)


def test_margin_rates_value_source(cfg):
    df = _txns(HAND).drop(columns="revenue")
    df.loc[df["txn_time"] == pd.Timestamp("2026-10-08 10:00"), "txn_type"] = "transfer_out"
    c = copy.deepcopy(cfg)
    c["clv"]["value_source"] = "margin_rates"
    c["clv"]["margin_rates"] = {"card_purchase": 0.02}
    got = btyd_summary(
        connect_frames({"transactions": df}), AS_OF, clv_settings(c, "day")
    ).set_index("customer_id")
    # repeat events: Oct 8 (transfer_out, no rate: 0) and Oct 22 (100 x 0.02)
    assert got.loc["A", "monetary_value"] == pytest.approx(1.0, abs=1e-12)


def test_revenue_source_without_revenue_column_is_a_config_error(cfg):
    df = _txns(HAND).drop(columns="revenue")
    with pytest.raises(ConfigError, match="clv.value_source"):
        btyd_summary(connect_frames({"transactions": df}), AS_OF, clv_settings(cfg, "day"))


SPLIT = [
    # the calibration ends on Thursday 2026-10-01: its week (Sep 28 - Oct 4) straddles it
    ("A", "2026-09-29 10:00", 2.0, True),
    ("A", "2026-10-01 09:00", 3.0, True),
    ("A", "2026-10-02 12:00", 4.0, True),  # after the calibration end, in its week
    ("A", "2026-10-14 12:00", 5.0, True),
    ("A", "2026-10-20 12:00", 6.0, True),
    ("B", "2026-10-03 12:00", 7.0, True),  # only after the calibration end
    ("C", "2026-09-01 12:00", 1.0, True),
    ("D", "2026-09-22 12:00", 1.0, True),
    ("D", "2026-09-30 12:00", 10.0, True),
    ("D", "2026-10-03 12:00", 100.0, True),  # its week's calibration value stays 10
]
CAL_END = date(2026, 10, 1)

# customer: (frequency, recency, T, monetary_value, holdout_events), worked by hand
SPLIT_EXPECTED = {
    "day": {
        "A": (1.0, 2.0, 2.0, 3.0, 3.0),  # Sep 29, Oct 1; holdout Oct 2, 14, 20
        "C": (0.0, 0.0, 30.0, 0.0, 0.0),
        "D": (1.0, 8.0, 9.0, 10.0, 1.0),  # Sep 22, Sep 30; holdout Oct 3
    },
    "week": {
        "A": (0.0, 0.0, 0.0, 0.0, 2.0),  # one calibration week; holdout weeks of Oct 12, 19
        "C": (0.0, 0.0, 4.0, 0.0, 0.0),  # week of Aug 31, four before Sep 28
        "D": (1.0, 1.0, 1.0, 10.0, 0.0),  # Oct 3 is in the calibration end's week
    },
}


@pytest.mark.parametrize("unit", ["day", "week"])
def test_calibration_summary_and_holdout_by_hand(cfg, unit):
    con = connect_frames({"transactions": _txns(SPLIT)})
    summary, calibration = btyd_summaries(con, AS_OF, CAL_END, clv_settings(cfg, unit))
    pd.testing.assert_frame_equal(summary, btyd_summary(con, AS_OF, clv_settings(cfg, unit)))
    got = calibration.set_index("customer_id")
    assert list(got.columns) == ["frequency", "recency", "T", "monetary_value", "holdout_events"]
    assert {k: tuple(v) for k, v in got.iterrows()} == SPLIT_EXPECTED[unit]


def test_calibration_summary_with_margin_rates_binds_each_parameter(cfg):
    c = copy.deepcopy(cfg)
    c["clv"]["value_source"] = "margin_rates"
    c["clv"]["margin_rates"] = {"card_purchase": 0.02, "transfer_out": 0.5}
    df = _txns(SPLIT).drop(columns="revenue")
    df.loc[df["customer_id"] == "D", "txn_type"] = "transfer_out"
    con = connect_frames({"transactions": df})
    summary, calibration = btyd_summaries(con, AS_OF, CAL_END, clv_settings(c, "day"))
    pd.testing.assert_frame_equal(summary, btyd_summary(con, AS_OF, clv_settings(c, "day")))
    expected = btyd_summary(con, CAL_END, clv_settings(c, "day"))
    pd.testing.assert_frame_equal(calibration.drop(columns="holdout_events"), expected)
    # D's repeat event: Sep 30, 100 x 0.5
    assert calibration.set_index("customer_id").loc["D", "monetary_value"] == 50.0


def _holdout(df: pd.DataFrame, cal_end: date, unit: str) -> pd.Series:
    """Distinct periods after the calibration end's period up to the as-of date, by pandas."""
    t = df.loc[
        df["customer_initiated"] & (df["txn_time"] < pd.Timestamp(AS_OF) + pd.Timedelta(days=1))
    ]
    day = t["txn_time"].dt.normalize()
    period = day - pd.to_timedelta(day.dt.day_of_week, unit="D") if unit == "week" else day
    cal = pd.Timestamp(cal_end)
    cal_period = cal - pd.Timedelta(days=cal.weekday()) if unit == "week" else cal
    later = t.assign(p=period)[period > cal_period]
    return later.groupby("customer_id")["p"].nunique().astype(float)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(_row, min_size=1, max_size=60),
    unit=st.sampled_from(["day", "week"]),
    holdout_days=st.integers(min_value=0, max_value=120),
)
def test_summaries_from_one_pass_equal_the_summaries_apart(cfg, rows, unit, holdout_days):
    base = datetime(AS_OF.year, AS_OF.month, AS_OF.day)
    table = [(c, base - timedelta(days=d) + timedelta(seconds=s), v, ci) for c, d, s, v, ci in rows]
    df = _txns(table)
    con = connect_frames({"transactions": df})
    cal_end = AS_OF - timedelta(days=holdout_days)
    summary, calibration = btyd_summaries(con, AS_OF, cal_end, clv_settings(cfg, unit))
    pd.testing.assert_frame_equal(summary, btyd_summary(con, AS_OF, clv_settings(cfg, unit)))
    expected = btyd_summary(con, cal_end, clv_settings(cfg, unit))
    pd.testing.assert_frame_equal(calibration.drop(columns="holdout_events"), expected)
    holdout = _holdout(df, cal_end, unit)
    want = [holdout.get(c, 0.0) for c in calibration["customer_id"]]
    assert calibration["holdout_events"].tolist() == want


@pytest.mark.parametrize("unit,length", [("day", 31.0), ("week", 4.0)])
def test_holdout_length_in_units(unit, length):
    assert holdout_length(date(2026, 9, 30), AS_OF, unit) == length
