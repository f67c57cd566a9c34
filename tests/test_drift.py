"""PSI on distributions whose answer is known by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.drift import PSI_SHIFT, psi, psi_table


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
