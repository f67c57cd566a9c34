"""PSI on distributions whose answer is known by hand."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.config import load_config
from pipeline.drift import (
    KEY_FEATURES,
    PSI_SHIFT,
    SCORE_MEASURES,
    drift_section,
    feature_drift,
    measure_rows,
    psi,
    psi_table,
)
from pipeline.scoring.core import previous_measures
from pipeline.scoring.settings import ScoreSettings


def test_identical_distributions_have_zero_psi() -> None:
    values = np.arange(100.0)
    assert psi(values, values) == 0.0


def test_psi_matches_hand_computation_on_two_bins() -> None:
    # Reference 0..9: quantile edges put 0-4 and 5-9 into two halves when bins=2.
    expected = np.arange(10.0)
    # Current: 80% in the low half, 20% in the high half.
    actual = np.array([0, 1, 2, 3, 4, 0, 1, 2, 8, 9], dtype=float)
    hand = (0.8 - 0.5) * math.log(0.8 / 0.5) + (0.2 - 0.5) * math.log(0.2 / 0.5)
    assert psi(expected, actual, bins=2) == pytest.approx(hand, abs=1e-12)


def test_known_shift_of_a_normal_is_flagged() -> None:
    rng = np.random.default_rng(1)
    before = rng.normal(0, 1, 20_000)
    small = rng.normal(0.05, 1, 20_000)
    large = rng.normal(1.0, 1, 20_000)
    assert psi(before, small) < 0.1
    assert psi(before, large) > PSI_SHIFT


def test_missing_values_count_as_their_own_bin() -> None:
    before = np.arange(100.0)
    after = np.where(np.arange(100) < 50, np.nan, np.arange(100.0))
    assert psi(before, after) > PSI_SHIFT


def test_psi_table_flags_only_the_shifted_column() -> None:
    rng = np.random.default_rng(2)
    prev = pd.DataFrame({"aum": rng.lognormal(10, 1, 5000), "dormant": rng.random(5000) < 0.3})
    curr = pd.DataFrame({"aum": rng.lognormal(10, 1, 5000), "dormant": rng.random(5000) < 0.7})
    table = psi_table(prev, curr, ["aum", "dormant", "absent"])
    assert list(table["column"]) == ["aum", "dormant"]
    assert list(table["shifted"]) == [False, True]


@given(
    st.lists(st.floats(-1e6, 1e6), min_size=2, max_size=200),
    st.lists(st.floats(-1e6, 1e6), min_size=2, max_size=200),
)
def test_psi_is_never_negative(a: list[float], b: list[float]) -> None:
    assert psi(np.array(a), np.array(b)) >= 0.0


# --- the model card's drift section (drift_section, measure_rows) ---


def _decile_shift() -> float:
    """By hand: previous 0..99 in ten equal deciles; current all in the lowest decile."""
    moved = (1.0 - 0.1) * math.log(1.0 / 0.1)
    emptied = 9 * (1e-4 - 0.1) * math.log(1e-4 / 0.1)
    return moved + emptied


def test_measure_rows_give_psi_flag_or_the_reason_there_is_none() -> None:
    previous = pd.DataFrame(
        {"aum": np.arange(100.0), "clv": np.arange(100.0), "churn_probability": np.nan}
    )
    current = pd.DataFrame(
        {"aum": np.arange(100.0), "clv": np.arange(100.0) / 20, "churn_probability": 0.5}
    )
    rows = measure_rows(previous, current, ("aum", "clv", "churn_probability", "p_alive"), "score")
    by = {r["measure"]: r for r in rows}
    assert by["aum"]["psi"] == 0.0 and not by["aum"]["shifted"] and by["aum"]["reason"] is None
    assert by["clv"]["psi"] == pytest.approx(_decile_shift(), abs=1e-6) and by["clv"]["shifted"]
    assert by["churn_probability"] == {
        "measure": "churn_probability",
        "kind": "score",
        "psi": None,
        "shifted": False,
        "reason": "no_previous_values",
        "note": "no values in the previous period",
    }
    assert (by["p_alive"]["reason"], by["p_alive"]["psi"]) == ("not_in_both", None)
    nothing = measure_rows(None, current, ("aum",), "score")
    assert (nothing[0]["reason"], nothing[0]["note"]) == ("no_previous", "no previous scores")


def test_drift_section_warns_for_each_shifted_measure_and_says_when_scores_are_missing() -> None:
    before = pd.DataFrame({c: np.arange(100.0) for c in KEY_FEATURES})
    now = before.copy()
    now["aum"] = np.arange(100.0) / 20  # all below 9.9, the previous lowest decile
    scores = pd.DataFrame({c: np.linspace(0, 1, 100) for c in SCORE_MEASURES})
    section = drift_section("2026-09", feature_drift(before, now), None, scores)
    assert [r["measure"] for r in section["measures"]] == [*KEY_FEATURES, *SCORE_MEASURES]
    assert section["shifted"] == ["aum"]
    assert section["warnings"] == [
        f"aum shifted since 2026-09: PSI {_decile_shift():.3f} > {PSI_SHIFT}"
    ]
    assert not section["previous_scores"]
    score_rows = section["measures"][len(KEY_FEATURES) :]
    assert {r["reason"] for r in score_rows} == {"no_previous"}
    assert all(r["psi"] is None for r in score_rows)
    with_scores = drift_section("2026-09", feature_drift(before, now), scores, scores)
    assert [r["psi"] for r in with_scores["measures"][len(KEY_FEATURES) :]] == [0.0, 0.0, 0.0]
    empty = drift_section("2026-09", feature_drift(before.iloc[:0], now), None, scores)
    assert {r["reason"] for r in empty["measures"]} == {"no_previous"} and not empty["warnings"]


@given(
    st.lists(st.floats(-1e6, 1e6), min_size=5, max_size=200),
    st.lists(st.floats(-1e6, 1e6), min_size=5, max_size=200),
)
def test_drift_flags_exactly_the_measures_above_the_threshold(prev, curr) -> None:
    section = drift_section(
        "2026-09",
        feature_drift(pd.DataFrame({"aum": prev}), pd.DataFrame({"aum": curr})),
        None,
        pd.DataFrame({"clv": curr}),
    )
    (aum,) = [r for r in section["measures"] if r["measure"] == "aum"]
    assert aum["psi"] >= 0 and aum["shifted"] == (aum["psi"] > PSI_SHIFT)
    assert section["shifted"] == (["aum"] if aum["shifted"] else [])


def test_a_previous_month_before_the_data_is_no_previous_month() -> None:
    """Drift rebuilds the previous month's measures when that month was not run -- but
    not a month before the data's first: its customers would all hold 0 (no AUM, no
    transactions), read as "nothing moved" (or everything did); there is nothing then."""
    s = ScoreSettings.from_config(load_config()).features
    got = previous_measures(None, None, date(2025, 4, 30), s, covered=False)
    assert got.empty and list(got.columns) == list(KEY_FEATURES)
    now = pd.DataFrame({c: np.arange(10.0) for c in KEY_FEATURES})
    rows = feature_drift(got, now)
    assert {r["reason"] for r in rows} == {"no_previous"}
    stored = pd.DataFrame({"aum": [1.0]})
    assert previous_measures(None, stored, date(2025, 4, 30), s, covered=False) is stored
